// The survey report on site, phone first: findings, measurements judged as they are typed by the
// server's own rules, cause and responsibility, photos, and the customer representative's drawn
// signature (or dissent, with both opinions). Signing puts it in the outbox: kept on the device,
// sent when the network is there, shown until the server has it, and, when the server refuses
// it, brought back into the form with the reasons at their fields.
import { useEffect, useMemo, useRef, useState } from "react";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Alert, Button, Card, Checkbox, Form, Input, InputNumber, List, Select, Space, Typography, type FormInstance } from "antd";
import {
  CaseState,
  MeasurementSchema,
  ResponsibleParty,
  SignatureMethod,
  SignatureRole,
  StoreyType,
  type Measurement,
} from "../gen/steelcare/common/v1/common_pb";
import { SubmitSurveyReportRequestSchema, type SubmitSurveyReportRequest } from "../gen/steelcare/repair/v1/repair_service_pb";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, clearEdited } from "../components";
import { useSession } from "../session";
import { discard, enqueueSurvey, surveyRequest, useOutbox, type Entry, type OutboxFile } from "../outbox";
import { PhotoPicker, SignaturePad, type Photo } from "../media";
import { SimilarCases } from "../experience";
import { Verdict, calendarDate, knownInstruments, position, readings, rememberInstruments, useJudgement, type Judged } from "../measure";

/** One measurement as the form holds it. */
interface Item {
  kind?: "coating" | "verticality";
  design_um?: number;
  coats?: number;
  height_mm?: number;
  member?: string;
  location?: string;
  instrument_kind?: number;
  serial?: string;
  calibrated_until?: string;
  readings?: string;
  /** When the readings were typed (ms). */
  at?: number;
}

interface Draft {
  findings?: string;
  photos?: Photo[];
  representative?: string;
  signature?: string;
  dissent?: boolean;
  representative_opinion?: string;
  surveyor_opinion?: string;
  root_cause?: number;
  party?: number;
  measurements?: Item[];
}

type Reason = { name: (string | number)[]; errors: string[] };

const draftKey = (ticketId: string) => `steelcare.draft.survey.${ticketId}`;
/** The drawn signature a refused report was sent with, while it is corrected: sent again with
 * its request id, it is the same attachment, even after a reload. */
const signatureKey = (ticketId: string) => `steelcare.draft.survey.${ticketId}.signature`;

function sentSignature(ticketId: string): OutboxFile | undefined {
  try {
    return JSON.parse(localStorage.getItem(signatureKey(ticketId)) ?? "null") ?? undefined;
  } catch {
    return undefined;
  }
}

function measurement(item: Item): Measurement {
  const quantity =
    item.kind === "verticality"
      ? { case: "overallVerticality" as const, value: { heightMm: item.height_mm ?? 0, storeyType: StoreyType.SINGLE } }
      : { case: "coatingThickness" as const, value: { indoor: false, designThicknessUm: item.design_um ?? 0, coats: item.coats ?? 1, oneCoat: false } };
  return create(MeasurementSchema, {
    quantity,
    member: item.member ?? "",
    location: item.location ?? "",
    instrument: { kind: item.instrument_kind ?? 0, serialNumber: item.serial ?? "", calibrationValidUntil: calendarDate(item.calibrated_until) },
    measureTime: timestampFromDate(new Date(item.at ?? Date.now())),
    readings: readings(item.readings),
  });
}

/** The form's measurements, for judging: those with readings. */
const judgeable = (draft: Draft) => (draft.measurements ?? []).map((i) => (readings(i.readings).length > 0 ? measurement(i) : undefined));

/** Where the form shows a field the server names in a survey report (`content.…`). */
function formField(path: string): (string | number)[] | undefined {
  const m = /^content\.measurements\[(\d+)\]\.(\w+)(?:\.(\w+))?/.exec(path);
  if (m) {
    const own: Record<string, string> = {
      readings: "readings",
      member: "member",
      location: "location",
      quantity: "kind",
      calibration_valid_until: "calibrated_until",
      serial_number: "serial",
      kind: "instrument_kind",
      measure_time: "readings",
    };
    const name = own[m[3] ?? m[2]] ?? (m[2] === "instrument" ? "instrument_kind" : "readings");
    return ["measurements", Number(m[1]), name];
  }
  if (path.startsWith("content.findings")) return ["findings"];
  if (path.startsWith("content.diagnosis.root_cause")) return ["root_cause"];
  if (path.startsWith("content.diagnosis.responsibility")) return ["party"];
  if (path.startsWith("content.participants") || path.startsWith("content.signatures")) return ["representative"];
  return undefined;
}

/** `YYYY-MM-DD` of a calendar date, for a date input. */
function dateText(d: { year: number; month: number; day: number } | undefined): string | undefined {
  return d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : undefined;
}

/** A refused report as the form holds it, to correct. */
function draftOf(entry: Entry): Draft {
  const content = surveyRequest(entry).content;
  const representativeSignature = content?.signatures.find((x) => x.role === SignatureRole.CUSTOMER_REPRESENTATIVE);
  return {
    findings: content?.findings,
    photos: (entry.files ?? []).filter((f) => f.use === "image").map((f) => ({ id: f.requestId, name: f.fileName, dataUrl: f.dataUrl })),
    signature: entry.files?.find((f) => f.use === "signature")?.dataUrl,
    dissent: representativeSignature?.dissent,
    representative_opinion: representativeSignature?.opinion,
    surveyor_opinion: content?.signatures.find((x) => x.role === SignatureRole.SURVEYOR)?.opinion,
    representative: content?.participants[0]?.displayName,
    root_cause: content?.diagnosis?.rootCause,
    party: content?.diagnosis?.responsibility[0]?.party,
    measurements: content?.measurements.map((m): Item => ({
      kind: m.quantity.case === "overallVerticality" ? "verticality" : "coating",
      design_um: m.quantity.case === "coatingThickness" ? m.quantity.value.designThicknessUm : undefined,
      coats: m.quantity.case === "coatingThickness" ? m.quantity.value.coats : undefined,
      height_mm: m.quantity.case === "overallVerticality" ? m.quantity.value.heightMm : undefined,
      member: m.member,
      location: m.location,
      instrument_kind: m.instrument?.kind,
      serial: m.instrument?.serialNumber,
      calibrated_until: dateText(m.instrument?.calibrationValidUntil),
      readings: m.readings.join(" "),
      at: Date.now(),
    })),
  };
}

/** The report a signed draft makes: the survey from arrival to now, both sides' signatures. */
function reportOf(draft: Draft, ticketId: string, arriveTime: Timestamp | undefined, people: { me: { userId: string; displayName: string; title: string }; representative: { displayName: string; title: string } }): SubmitSurveyReportRequest {
  const { me, representative } = people;
  const now = timestampNow();
  return create(SubmitSurveyReportRequestSchema, {
    requestId: crypto.randomUUID(),
    ticketId,
    content: {
      surveyTime: { startTime: arriveTime ?? now, endTime: now },
      participants: [representative, me],
      findings: draft.findings ?? "",
      measurements: (draft.measurements ?? []).map(measurement),
      diagnosis: {
        rootCause: draft.root_cause ?? 0,
        responsibility: [{ party: draft.party ?? ResponsibleParty.UNSPECIFIED, percent: 100 }],
      },
      signatures: [
        {
          signer: representative,
          signedTime: now,
          method: SignatureMethod.ON_DEVICE,
          role: SignatureRole.CUSTOMER_REPRESENTATIVE,
          dissent: !!draft.dissent,
          opinion: draft.dissent ? draft.representative_opinion ?? "" : "",
        },
        { signer: me, signedTime: now, method: SignatureMethod.ON_DEVICE, role: SignatureRole.SURVEYOR, opinion: draft.dissent ? draft.surveyor_opinion ?? "" : "" },
      ],
    },
  });
}

export default function SurveyReport({ ticketId, label, arriveTime, state }: { ticketId: string; label: string; arriveTime?: Timestamp; state?: CaseState }) {
  const { t } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<Draft>();
  const [error, setError] = useState("");
  const [judged, judge] = useJudgement();
  const outbox = useOutbox().filter((e) => e.ticketId === ticketId && e.kind === "survey");
  // The signature as it was sent: a correction that keeps it sends the same attachment again.
  const signatureSent = useRef<OutboxFile | undefined>(sentSignature(ticketId));
  const [correction, setCorrection] = useState<{ draft: Draft; reasons: Reason[] }>();
  const [reasonsToShow, setReasonsToShow] = useState<Reason[]>([]);

  // The draft survives a reload and a sleeping phone.
  const initial = useMemo<Draft>(() => {
    try {
      return JSON.parse(localStorage.getItem(draftKey(ticketId)) ?? "null") ?? { measurements: [{ kind: "coating", design_um: 150, coats: 2, at: Date.now() }] };
    } catch {
      return {};
    }
  }, [ticketId]);
  useEffect(() => judge(judgeable(initial)), [initial, judge]);

  const changed = (edited: unknown, all: Draft) => {
    localStorage.setItem(draftKey(ticketId), JSON.stringify(all));
    if (edited) clearEdited(form)(edited as Record<string, unknown>);
    judge(judgeable(all));
  };

  const submit = async (draft: Draft) => {
    const me = { userId: session.subject, displayName: session.displayName || session.subject, title: t("surveyor") };
    const representative = { displayName: draft.representative ?? "", title: t("customerRepresentative") };
    const where = await position();
    const sentBefore = signatureSent.current?.dataUrl === draft.signature ? signatureSent.current : undefined;
    const files: OutboxFile[] = [
      // A photo's id is its request id: sent again after a correction, it is the same attachment.
      ...(draft.photos ?? []).map((p): OutboxFile => ({ requestId: p.id, fileName: p.name, caption: "", dataUrl: p.dataUrl, use: "image" })),
      ...(sentBefore ? [sentBefore] : []),
      ...(draft.signature && !sentBefore
        ? [{
            requestId: crypto.randomUUID(),
            fileName: "signature.png",
            // Who signed, when and where, with the drawn signature.
            caption: [representative.displayName, new Date().toISOString(), where ? `${where.latitude.toFixed(5)},${where.longitude.toFixed(5)}` : ""].filter(Boolean).join(" · "),
            dataUrl: draft.signature,
            use: "signature" as const,
          }]
        : []),
    ];
    rememberInstruments(draft.measurements ?? []);
    if (!(await enqueueSurvey(reportOf(draft, ticketId, arriveTime, { me, representative }), label, files))) {
      setError(t("deviceFull"));
      return;
    }
    localStorage.removeItem(draftKey(ticketId));
    localStorage.removeItem(signatureKey(ticketId));
    signatureSent.current = undefined;
  };

  // A refused report comes back into the form to be corrected (and is sent as a new request).
  const correct = (entry: Entry) => {
    const draft = draftOf(entry);
    localStorage.setItem(draftKey(ticketId), JSON.stringify(draft));
    signatureSent.current = entry.files?.find((f) => f.use === "signature");
    if (signatureSent.current) localStorage.setItem(signatureKey(ticketId), JSON.stringify(signatureSent.current));
    void discard(entry.requestId);
    setCorrection({
      draft,
      reasons: Object.entries(entry.fields ?? {}).flatMap(([path, text]) => {
        const name = formField(path);
        return name ? [{ name, errors: [text] }] : [];
      }),
    });
    judge(judgeable(draft));
  };

  const surveying = !!arriveTime && state === CaseState.SURVEY_SCHEDULED && !outbox.some((e) => e.state === "waiting");
  // A correction fills the form (once it shows) with the refused report; the list's items are
  // made again with the values, so the reasons go on them after that.
  useEffect(() => {
    if (!correction || !surveying) return;
    form.resetFields();
    form.setFieldsValue(correction.draft);
    setReasonsToShow(correction.reasons);
    setCorrection(undefined);
  }, [correction, surveying, form]);
  useEffect(() => {
    if (reasonsToShow.length === 0) return;
    form.setFields(reasonsToShow.map((r) => ({ name: r.name as never, errors: r.errors })));
    setReasonsToShow([]);
  }, [reasonsToShow, form]);

  return (
    <>
      <ErrorAlert message={error} />
      <SurveyOutbox entries={outbox} onCorrect={correct} />
      {surveying && (
        <Card size="small" title={t("surveyReport")}>
          <Form form={form} layout="vertical" initialValues={initial} onValuesChange={changed} onFinish={submit} size="large">
            <Form.Item name="findings" label={t("findings")} rules={[{ required: true, message: t("required") }]}>
              <Input.TextArea rows={3} data-testid="survey-findings" />
            </Form.Item>
            <Measurements form={form} judged={judged} onPicked={() => changed(undefined, form.getFieldsValue(true))} />
            <DiagnosisFields />
            <SignatureFields form={form} />
            <Button type="primary" htmlType="submit" block data-testid="survey-submit">{t("signAndSend")}</Button>
          </Form>
        </Card>
      )}
      {surveying && <SimilarCases ticketId={ticketId} quiet />}
      {!!arriveTime && state === CaseState.SURVEYED && outbox.length === 0 && (
        <Alert type="success" showIcon message={t("surveyReceived")} data-testid="survey-received" />
      )}
    </>
  );
}

/** The survey reports waiting on the device, and those the server refused, to correct. */
function SurveyOutbox({ entries, onCorrect }: { entries: Entry[]; onCorrect: (e: Entry) => void }) {
  const { t } = useI18n();
  if (entries.length === 0) return null;
  return (
    <Card size="small" title={t("waitingToSend")} data-testid="job-outbox">
      <List
        dataSource={entries}
        renderItem={(e) => (
          <List.Item data-testid={e.state === "waiting" ? "outbox-waiting" : "outbox-refused"}>
            {e.state === "waiting" ? (
              <Typography.Text>{t("surveyReport")} · {t("waitingForNetwork")}</Typography.Text>
            ) : (
              <Space direction="vertical" style={{ width: "100%" }}>
                <Alert type="error" showIcon message={t("refusedByServer")} description={<span data-testid="refusal">{Object.values(e.fields ?? {}).join(" · ") || e.error}</span>} />
                <Button size="large" block onClick={() => onCorrect(e)} data-testid="correct">{t("correctIt")}</Button>
              </Space>
            )}
          </List.Item>
        )}
      />
    </Card>
  );
}

/** The report's measurements, each with its verdict as typed; instruments used before offered. */
function Measurements({ form, judged, onPicked }: { form: FormInstance<Draft>; judged: Judged; onPicked: () => void }) {
  const { t, lang } = useI18n();
  const known = knownInstruments();
  const pickInstrument = (index: number, serial: string) => {
    const k = known.find((x) => x.serial === serial);
    if (!k) return;
    const items = [...(form.getFieldValue("measurements") ?? [])];
    items[index] = { ...items[index], ...k };
    form.setFieldValue("measurements", items);
    onPicked();
  };
  return (
    <Form.List name="measurements">
      {(fields, { add, remove }) => (
        <Space direction="vertical" style={{ width: "100%" }}>
          {fields.map((field) => (
            <Card key={field.key} size="small" type="inner" title={`${t("measurement")} ${field.name + 1}`} extra={<Button type="link" onClick={() => remove(field.name)}>{t("remove")}</Button>}>
              <Form.Item name={[field.name, "kind"]} label={t("quantity")}>
                <Select data-testid={`m-kind-${field.name}`} options={[{ value: "coating", label: t("coatingThickness") }, { value: "verticality", label: t("overallVerticality") }]} />
              </Form.Item>
              <Form.Item noStyle shouldUpdate>
                {() =>
                  form.getFieldValue(["measurements", field.name, "kind"]) === "verticality" ? (
                    <Form.Item name={[field.name, "height_mm"]} label={t("heightMm")}><InputNumber min={0} style={{ width: "100%" }} inputMode="decimal" /></Form.Item>
                  ) : (
                    <Space.Compact block>
                      <Form.Item name={[field.name, "design_um"]} label={t("designThickness")} style={{ flex: 1 }}><InputNumber min={0} style={{ width: "100%" }} inputMode="decimal" /></Form.Item>
                      <Form.Item name={[field.name, "coats"]} label={t("coats")} style={{ flex: 1 }}><InputNumber min={1} style={{ width: "100%" }} inputMode="numeric" /></Form.Item>
                    </Space.Compact>
                  )
                }
              </Form.Item>
              <Form.Item name={[field.name, "member"]} label={t("member")}><Input data-testid={`m-member-${field.name}`} /></Form.Item>
              <Form.Item name={[field.name, "location"]} label={t("location")}><Input /></Form.Item>
              {known.length > 0 && (
                <Form.Item label={t("myInstruments")}>
                  <Select onChange={(serial: string) => pickInstrument(field.name, serial)} options={known.map((k) => ({ value: k.serial, label: `${enumLabel(lang, "InstrumentKind", k.instrument_kind)} ${k.serial} · ${t("calibratedUntil")} ${k.calibrated_until}` }))} data-testid={`m-known-${field.name}`} />
                </Form.Item>
              )}
              <Form.Item name={[field.name, "instrument_kind"]} label={t("instrument")}>
                <Select data-testid={`m-instrument-${field.name}`} options={enumValues("InstrumentKind").map((v) => ({ value: v, label: enumLabel(lang, "InstrumentKind", v) }))} />
              </Form.Item>
              <Space.Compact block>
                <Form.Item name={[field.name, "serial"]} label={t("serialNumber")} style={{ flex: 1 }}><Input data-testid={`m-serial-${field.name}`} /></Form.Item>
                <Form.Item name={[field.name, "calibrated_until"]} label={t("calibratedUntil")} style={{ flex: 1 }}><Input type="date" data-testid={`m-calibrated-${field.name}`} /></Form.Item>
              </Space.Compact>
              <Form.Item name={[field.name, "readings"]} label={t("readings")} extra={t("readingsHelp")}>
                <Input inputMode="decimal" data-testid={`m-readings-${field.name}`} />
              </Form.Item>
              <Verdict judged={judged.verdicts[field.name]} problem={judged.problems[String(field.name)]} offline={judged.offline} testId={`m-verdict-${field.name}`} />
            </Card>
          ))}
          <Button block onClick={() => add({ kind: "coating", design_um: 150, coats: 2, at: Date.now() })} data-testid="add-measurement">{t("addMeasurement")}</Button>
        </Space>
      )}
    </Form.List>
  );
}

/** Root cause and responsible party, with the report's photos. */
function DiagnosisFields() {
  const { t, lang } = useI18n();
  return (
    <>
      <Form.Item name="root_cause" label={t("rootCause")} rules={[{ required: true, message: t("required") }]}>
        <Select data-testid="survey-root-cause" options={enumValues("RootCause").map((v) => ({ value: v, label: enumLabel(lang, "RootCause", v) }))} />
      </Form.Item>
      <Form.Item name="party" label={t("responsibleParty")} rules={[{ required: true, message: t("required") }]}>
        <Select data-testid="survey-party" options={enumValues("ResponsibleParty").map((v) => ({ value: v, label: enumLabel(lang, "ResponsibleParty", v) }))} />
      </Form.Item>
      <Form.Item name="photos" label={t("photos")}>
        <PhotoPicker />
      </Form.Item>
    </>
  );
}

/** The customer representative: name, drawn signature, and dissent with both opinions. */
function SignatureFields({ form }: { form: FormInstance<Draft> }) {
  const { t } = useI18n();
  return (
    <>
      <Form.Item name="representative" label={t("customerRepresentative")} rules={[{ required: true, message: t("required") }]}>
        <Input data-testid="survey-representative" />
      </Form.Item>
      <Form.Item name="signature" label={t("signsOnDevice")} rules={[{ required: true, message: t("signatureRequired") }]}>
        <SignaturePad />
      </Form.Item>
      <Form.Item name="dissent" valuePropName="checked">
        <Checkbox data-testid="survey-dissent">{t("representativeDissents")}</Checkbox>
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(a, b) => a.dissent !== b.dissent}>
        {() =>
          form.getFieldValue("dissent") && (
            <>
              <Form.Item name="representative_opinion" label={t("representativeOpinion")} rules={[{ required: true, message: t("required") }]}>
                <Input.TextArea rows={2} />
              </Form.Item>
              <Form.Item name="surveyor_opinion" label={t("surveyorOpinion")} rules={[{ required: true, message: t("required") }]}>
                <Input.TextArea rows={2} />
              </Form.Item>
            </>
          )
        }
      </Form.Item>
    </>
  );
}
