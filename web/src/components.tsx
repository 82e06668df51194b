// Pieces every page uses: enum tags, dates in the configured zone, SLA clocks that count down,
// and the API's field violations shown next to the fields.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Alert, Space, Tag, Typography, type FormInstance } from "antd";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { ClockMode, SlaStatus, type Money, type SlaClock } from "./gen/steelcare/common/v1/common_pb";
import { describe, fieldViolations } from "./api";
import { enumLabel, useI18n, type EnumName, type Word } from "./i18n";
import { useSession } from "./session";
import { countdown, formatSpan, formatTime } from "./time";

/** The current time, refreshed every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

const statusColor: Record<number, string> = {
  [SlaStatus.ON_TRACK]: "green",
  [SlaStatus.AT_RISK]: "orange",
  [SlaStatus.BREACHED]: "red",
  [SlaStatus.MET]: "blue",
  [SlaStatus.PAUSED]: "default",
};

export function EnumTag({ name, value, color }: { name: EnumName; value: number; color?: string }) {
  const { lang } = useI18n();
  if (!value) return <Typography.Text type="secondary">—</Typography.Text>;
  const c = color ?? (name === "SlaStatus" ? statusColor[value] : undefined);
  return <Tag color={c}>{enumLabel(lang, name, value)}</Tag>;
}

export function Time({ value }: { value: Timestamp | Date | undefined }) {
  const { lang } = useI18n();
  const { timeZone } = useSession();
  return <span>{formatTime(value, timeZone, lang)}</span>;
}

/** One SLA clock: its state, deadline and the countable time left, ticking every second. */
export function Clock({ kind, clock }: { kind: "response" | "arrival" | "solution" | "completion"; clock: SlaClock | undefined }) {
  const { t, lang } = useI18n();
  const { intervals } = useSession();
  const now = useNow();
  const title = t(`clock_${kind}` as Word);
  const words = { days: t("spanDays"), hours: t("spanHours"), workingHours: t("spanWorkingHours"), minutes: t("spanMinutes"), seconds: t("spanSeconds"), spaced: lang !== "zh" };
  const span = (ms: number, working: boolean) => formatSpan(ms, words, working);
  if (!clock) {
    return (
      <div data-testid={`clock-${kind}`} style={{ minWidth: 180 }}>
        <Typography.Text strong>{title}</Typography.Text>
        <div><Typography.Text type="secondary">—</Typography.Text></div>
      </div>
    );
  }
  const c = countdown(clock, intervals, now);
  const running = clock.stopTime === undefined && clock.status !== SlaStatus.PAUSED;
  const breached = c.status === SlaStatus.BREACHED;
  const atRisk = c.status === SlaStatus.AT_RISK;
  const border = breached ? "#ff4d4f" : atRisk ? "#faad14" : "#d9d9d9";
  return (
    <div
      data-testid={`clock-${kind}`}
      data-status={SlaStatus[c.status]}
      style={{ minWidth: 200, padding: 12, border: `2px solid ${border}`, borderRadius: 8, background: breached ? "#fff1f0" : atRisk ? "#fffbe6" : undefined }}
    >
      <Space>
        <Typography.Text strong>{title}</Typography.Text>
        <EnumTag name="SlaStatus" value={c.status} />
      </Space>
      {running ? (
        <div style={{ fontSize: 20, fontVariantNumeric: "tabular-nums" }} data-testid={`clock-${kind}-left`}>
          {c.remainingMs >= 0 ? `${span(c.remainingMs, clock.mode === ClockMode.BUSINESS)} ${t("left")}` : `${t("overdueBy")} ${span(c.remainingMs, false)}`}
        </div>
      ) : (
        <div style={{ fontSize: 14 }}>{clock.status === SlaStatus.PAUSED ? t("paused") : <Time value={clock.stopTime} />}</div>
      )}
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {clock.mode === ClockMode.BUSINESS ? t("businessTime") : t("roundTheClock")} · {t("deadline")} <Time value={clock.deadlineTime} />
        {running && !c.counting && c.remainingMs > 0 ? ` · ${t("notCounting")}` : ""}
      </Typography.Text>
    </div>
  );
}

/** Shows a call's failure: its field violations on the form's fields (named by the API's
 * field paths), anything else in an alert. Returns what the alert should say. */
export function showError(err: unknown, form: FormInstance | undefined, t: (w: Word) => string): string {
  const violations = fieldViolations(err);
  const fields = Object.entries(violations);
  if (fields.length === 0) return describe(err);
  const unplaced: string[] = [];
  // "contacts[0].phone" names the form field ["contacts", 0, "phone"].
  const name = (path: string): (string | number)[] =>
    path.replace(/\[(\d+)\]/g, ".$1").split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  const registered = form ? form.getFieldsValue() : {};
  const has = (path: (string | number)[]) => {
    let node: unknown = registered;
    for (const part of path) {
      if (node === null || typeof node !== "object" || !(part in (node as object))) return false;
      node = (node as Record<string, unknown>)[part];
    }
    return true;
  };
  const placed = fields.filter(([path, description]) => {
    if (has(name(path))) return true;
    unplaced.push(`${path}: ${description}`);
    return false;
  });
  form?.setFields(placed.map(([path, description]) => ({ name: name(path), errors: [description] })));
  return [t("fixFields"), ...unplaced].join(" · ");
}

export function ErrorAlert({ message }: { message: string }) {
  if (!message) return null;
  return <Alert type="error" showIcon message={message} data-testid="error" style={{ marginBottom: 12 }} />;
}

/** A form's onValuesChange that clears the server's violation from a field once it is edited. */
export function clearEdited(form: FormInstance) {
  return (changed: Record<string, unknown>) => {
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      if (Array.isArray(value)) {
        value.forEach((inner, i) => inner !== undefined && walk(inner, [...path, i]));
      } else if (value !== null && typeof value === "object" && !("$d" in (value as object))) {
        for (const [key, inner] of Object.entries(value as Record<string, unknown>)) walk(inner, [...path, key]);
      } else {
        paths.push(path);
      }
    };
    walk(changed, []);
    form.setFields(paths.map((name) => ({ name, errors: [] })));
  };
}

/** An amount with its currency ("CNY 10,000.00"); a dash when there is none. */
export function money(m: Money | undefined): string {
  if (!m) return "—";
  return `${m.currencyCode} ${(Number(m.amountMinor) / 100).toLocaleString(undefined, { minimumFractionDigits: 2 })}`;
}

/** For work that overlaps itself (a reload started while another is on the way, a judgement
 * while the last one is typed): answers arrive out of order, and only the latest may set
 * state. `const current = latest();` when it starts, `if (!current()) return;` when it answers. */
export function useLatest(): () => () => boolean {
  const last = useRef(0);
  return useCallback(() => {
    const mine = ++last.current;
    return () => mine === last.current;
  }, []);
}

/** An amount in yuan as typed ("80000", "80000.5", "80000.50") in fen, exactly; undefined when
 * it is not one. */
export function fen(text: string | undefined): bigint | undefined {
  const m = /^\s*(\d{1,15})(?:\.(\d{1,2}))?\s*$/.exec(text ?? "");
  if (!m) return undefined;
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0") || "0");
}

export function yuan(minor: bigint | undefined): string {
  if (minor === undefined) return "";
  const whole = minor / 100n;
  const cents = minor % 100n;
  return cents === 0n ? `${whole}` : `${whole}.${cents.toString().padStart(2, "0")}`;
}

/** One request id per action, kept while the component lives: a second tap is the same call.
 * `renew(what)` starts the next action of that name with a new id. */
export function useOnce() {
  const ids = useRef<Record<string, string>>({});
  return useMemo(
    () =>
      Object.assign((what: string) => (ids.current[what] ??= crypto.randomUUID()), {
        renew: (what: string) => {
          delete ids.current[what];
        },
      }),
    [],
  );
}

/** A text area's lines, trimmed, the empty ones left out. */
export function lines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((s) => s.trim()).filter(Boolean);
}
