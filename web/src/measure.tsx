// What the survey and inspection forms share: readings as typed, instruments this device
// used before, the device's position, and a measurement's verdict as the server judged it.
import { useCallback, useState } from "react";
import { Alert, Tag, Typography } from "antd";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { MeasurementSchema, type Measurement } from "./gen/steelcare/common/v1/common_pb";
import { dispatch, fieldViolations, repair } from "./api";
import { useI18n } from "./i18n";
import { useLatest } from "./components";
import { dayText } from "./time";

/** The server's judgement of a form's measurements, by the form's item index. */
export interface Judged {
  verdicts: (Measurement | undefined)[];
  problems: Record<string, string>;
  offline: boolean;
}

/** Judges a form's measurements a moment after the typing stops (`JudgeMeasurements`: the
 * server's rules, none of the console's): `items` are the form's, undefined where nothing is
 * read yet. A refusal is shown at the item it names; no answer at all means "when online". */
export function useJudgement(): [Judged, (items: (Measurement | undefined)[]) => void] {
  const [judged, setJudged] = useState<Judged>({ verdicts: [], problems: {}, offline: false });
  const latest = useLatest();
  const judge = useCallback((items: (Measurement | undefined)[]) => {
    const current = latest();
    window.setTimeout(async () => {
      if (!current()) return;
      const order = items.map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
      const sent = order.map((i) => items[i] as Measurement);
      if (sent.length === 0) return setJudged({ verdicts: [], problems: {}, offline: false });
      try {
        const r = await repair.judgeMeasurements({ measurements: sent });
        if (!current()) return;
        const verdicts: (Measurement | undefined)[] = items.map(() => undefined);
        order.forEach((at, k) => (verdicts[at] = r.measurements[k]));
        setJudged({ verdicts, problems: {}, offline: false });
      } catch (err) {
        if (!current()) return;
        const violations = fieldViolations(err);
        const problems: Record<string, string> = {};
        for (const [path, text] of Object.entries(violations)) {
          const m = /^measurements\[(\d+)\]/.exec(path);
          problems[m ? String(order[Number(m[1])]) : "all"] = text;
        }
        setJudged({ verdicts: [], problems, offline: Object.keys(violations).length === 0 });
      }
    }, 400);
  }, [latest]);
  return [judged, judge];
}

export function readings(text: string | undefined): number[] {
  return (text ?? "")
    .split(/[\s,，;；]+/)
    .filter((s) => s !== "")
    .map(Number);
}

export function calendarDate(text: string | undefined) {
  const [year, month, day] = (text ?? "").split("-").map(Number);
  return year ? { year, month, day } : undefined;
}

/** The instruments this device has used, to pick again (the last one first). */
const INSTRUMENTS = "steelcare.instruments";
export type Known = { instrument_kind: number; serial: string; calibrated_until: string };
export function knownInstruments(): Known[] {
  try {
    return JSON.parse(localStorage.getItem(INSTRUMENTS) ?? "[]");
  } catch {
    return [];
  }
}
export function rememberInstruments(items: { instrument_kind?: number; serial?: string; calibrated_until?: string }[]) {
  const seen = new Map(knownInstruments().map((k) => [k.serial, k]));
  for (const i of items) {
    if (i.serial && i.instrument_kind) seen.set(i.serial, { instrument_kind: i.instrument_kind, serial: i.serial, calibrated_until: i.calibrated_until ?? "" });
  }
  localStorage.setItem(INSTRUMENTS, JSON.stringify([...seen.values()].slice(-10)));
}

/** Takes the instruments registered for the technician (dispatch's register, with their
 * calibration) into the device's list, so that the forms offer them, offline too; those the
 * device used that are not registered stay before them. */
export async function syncMyInstruments(technicianId: string): Promise<void> {
  const r = await dispatch.getTechnician({ technicianId });
  const registered: Known[] = (r.technician?.instruments ?? []).map((i) => ({ instrument_kind: i.kind, serial: i.serialNumber, calibrated_until: dayText(i.calibrationValidUntil) }));
  const others = knownInstruments().filter((k) => !registered.some((x) => x.serial === k.serial));
  localStorage.setItem(INSTRUMENTS, JSON.stringify([...others.slice(-10), ...registered]));
}

/** The device's position, when the person allows it (never waits more than 5 s). */
export function position(): Promise<{ latitude: number; longitude: number } | undefined> {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(undefined);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude }),
      () => resolve(undefined),
      { timeout: 5000, maximumAge: 60_000 },
    );
  });
}

/** A measurement's verdict with its reason and clause, what the server refused in it, or that
 * it is judged once the network returns. */
export function Verdict({ judged, problem, offline, testId }: { judged?: Measurement; problem?: string; offline: boolean; testId: string }) {
  const { t, lang } = useI18n();
  const verdict = judged?.judgement;
  return (
    <div data-testid={testId}>
      {verdict && (
        <Alert
          type={verdict.passed ? "success" : "error"}
          message={verdict.passed ? t("passed") : t("failed")}
          description={<>{lang === "zh" ? verdict.reasonZh : verdict.reason}<br /><Typography.Text type="secondary">{lang === "zh" ? verdict.sourceZh : verdict.source}</Typography.Text></>}
        />
      )}
      {problem && <Alert type="warning" message={problem} />}
      {offline && !verdict && <Tag>{t("judgedWhenOnline")}</Tag>}
    </div>
  );
}

/** What is typed against a criterion: where, with which instrument, and the readings. */
export interface CheckItem {
  instrument_kind?: number;
  serial?: string;
  calibrated_until?: string;
  location?: string;
  readings?: string;
}

/** A criterion (of a step, or of the plan), measured: its quantity and member, with what was read. */
export function measured(criterion: Measurement, item: CheckItem): Measurement {
  return create(MeasurementSchema, {
    quantity: criterion.quantity,
    member: criterion.member,
    location: item.location ?? criterion.location,
    instrument: { kind: item.instrument_kind ?? 0, serialNumber: item.serial ?? "", calibrationValidUntil: calendarDate(item.calibrated_until) },
    measureTime: timestampNow(),
    readings: readings(item.readings),
  });
}

