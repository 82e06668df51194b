// Dates in the configured time zone, and SLA clocks counted down as the server counts them.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import dayjs, { type Dayjs } from "dayjs";
import utc from "dayjs/plugin/utc";
import timezone from "dayjs/plugin/timezone";
import { ClockMode, SlaStatus, type SlaClock } from "./gen/steelcare/common/v1/common_pb";

dayjs.extend(utc);
dayjs.extend(timezone);

/** The instant a date picker's wall-clock value means in `timeZone` (the pickers show the
 * browser's zone; the console's dates are the configured zone's). */
export function inZone(value: Dayjs, timeZone: string): Date {
  return dayjs.tz(value.format("YYYY-MM-DDTHH:mm:ss"), timeZone).toDate();
}

/** A working interval of the business calendar, in epoch milliseconds. */
export type Interval = [number, number];

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

/** `ts` as a date and time in `timeZone`, in the console's language. */
export function formatTime(ts: Timestamp | Date | undefined, timeZone: string, lang: string): string {
  if (!ts) return "—";
  const date = ts instanceof Date ? ts : timestampDate(ts);
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(date);
}

/** Countable milliseconds between `from` and `to`: all of it round the clock, only working
 * time in business mode (the server's `countable_between`). */
export function countable(mode: ClockMode, intervals: Interval[], from: number, to: number): number {
  if (to <= from) return 0;
  if (mode !== ClockMode.BUSINESS) return to - from;
  let total = 0;
  for (const [a, b] of intervals) {
    const start = Math.max(a, from);
    const end = Math.min(b, to);
    if (end > start) total += end - start;
  }
  return total;
}

export interface Countdown {
  /** Countable time left (negative once overdue, by wall time since the deadline). */
  remainingMs: number;
  /** Whether the clock is counting at `now` (false outside working hours or while paused). */
  counting: boolean;
  status: SlaStatus;
}

/** Where `clock` stands at `now`. */
export function countdown(clock: SlaClock, intervals: Interval[], now: number): Countdown {
  const deadline = toDate(clock.deadlineTime)?.getTime();
  const stopped = clock.stopTime !== undefined;
  if (stopped || deadline === undefined || clock.status === SlaStatus.PAUSED) {
    return { remainingMs: 0, counting: false, status: clock.status };
  }
  const inWork = clock.mode !== ClockMode.BUSINESS || intervals.some(([a, b]) => a <= now && now < b);
  if (now >= deadline) {
    return { remainingMs: -(now - deadline), counting: true, status: SlaStatus.BREACHED };
  }
  return { remainingMs: countable(clock.mode, intervals, now, deadline), counting: inWork, status: clock.status };
}

/** The words of a span in the reader's language, and whether they follow the number directly
 * ("3天") or after a space ("3 d"). */
export interface SpanWords {
  days: string;
  hours: string;
  workingHours: string;
  minutes: string;
  seconds: string;
  spaced: boolean;
}

/** `ms` as the reader writes it: "2 d 3 h 04 min" / "2天3小时04分"; a working-time clock counts
 * working hours ("75 working h 04 min" / "75工作小时04分"), never days of 24 hours. */
export function formatSpan(ms: number, words: SpanWords, working = false): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  const part = (n: number | string, word: string) => (words.spaced ? `${n} ${word}` : `${n}${word}`);
  const join = (parts: string[]) => parts.join(words.spaced ? " " : "");
  if (working) return join([part(Math.floor(total / 3600), words.workingHours), part(pad(m), words.minutes)]);
  return d > 0
    ? join([part(d, words.days), part(h, words.hours), part(pad(m), words.minutes)])
    : join([part(h, words.hours), part(pad(m), words.minutes), part(pad(s), words.seconds)]);
}

/** `datetime-local` text of a time (the input's own format), in the device's zone. */
export function localInput(d: Date | undefined): string | undefined {
  if (!d) return undefined;
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** `YYYY-MM-DD` of a calendar date (what `calendarDate` reads back); empty for none. */
export function dayText(d?: { year: number; month: number; day: number }): string {
  return d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";
}
