// A technician's job on site, phone first: where to go (with a map link), arrival with the
// device's position, and the survey report: findings, measurements judged as they are typed by
// the server's own rules (JudgeMeasurements), cause and responsibility, the customer
// representative's and the surveyor's signatures. The report goes to the outbox: kept on the
// device, sent when the connection is there, shown until the server has it.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useParams } from "react-router";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Alert, Button, Card, Checkbox, Form, Input, InputNumber, List, Select, Space, Typography } from "antd";
import { AssignmentSchema, AssignmentState, type Assignment } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import { ProjectSchema, TicketSchema, type Project, type Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import {
  CaseState,
  MeasurementSchema,
  ResponsibleParty,
  SignatureMethod,
  SignatureRole,
  StoreyType,
  type Measurement,
} from "../gen/steelcare/common/v1/common_pb";
import { SubmitSurveyReportRequestSchema } from "../gen/steelcare/repair/v1/repair_service_pb";
import { Code, dispatch, fieldViolations, intake, isCode, repair } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, showError } from "../components";
import { useSession } from "../session";
import { discard, enqueueSurvey, surveyRequest, useOutbox, type Entry, type OutboxFile } from "../outbox";
import { PhotoPicker, SignaturePad, type Photo } from "../media";
import RepairWork from "./RepairWork";
import { Verdict, calendarDate, knownInstruments, position, readings, rememberInstruments } from "../measure";

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

const draftKey = (ticketId: string) => `steelcare.draft.survey.${ticketId}`;
const jobKey = (ticketId: string) => `steelcare.job.${ticketId}`;

/** Keeps the job as last read, for opening it with no network. */
function saveJob(ticketId: string, ticket?: Ticket, project?: Project, assignment?: Assignment) {
  localStorage.setItem(
    jobKey(ticketId),
    JSON.stringify({
      ticket: ticket && toJson(TicketSchema, ticket),
      project: project && toJson(ProjectSchema, project),
      assignment: assignment && toJson(AssignmentSchema, assignment),
    }),
  );
}

function savedJob(ticketId: string): { ticket?: Ticket; project?: Project; assignment?: Assignment } | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(jobKey(ticketId)) ?? "null");
    if (!saved) return undefined;
    return {
      ticket: saved.ticket && fromJson(TicketSchema, saved.ticket),
      project: saved.project && fromJson(ProjectSchema, saved.project),
      assignment: saved.assignment && fromJson(AssignmentSchema, saved.assignment),
    };
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

/** Where the form shows a field the server names in a survey report (`content.…`). */
function formField(path: string): (string | number)[] | undefined {
  const m = /^content\.measurements\[(\d+)\]\.(\w+)(?:\.(\w+))?/.exec(path);
  if (m) {
    const at = Number(m[1]);
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
    return ["measurements", at, name];
  }
  if (path.startsWith("content.findings")) return ["findings"];
  if (path.startsWith("content.diagnosis.root_cause")) return ["root_cause"];
  if (path.startsWith("content.diagnosis.responsibility")) return ["party"];
  if (path.startsWith("content.participants") || path.startsWith("content.signatures")) return ["representative"];
  return undefined;
}

export default function Job() {
  const { ticketId = "" } = useParams();
  const { t, lang } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<Draft>();
  const [ticket, setTicket] = useState<Ticket>();
  const [project, setProject] = useState<Project>();
  const [assignment, setAssignment] = useState<Assignment>();
  const [error, setError] = useState("");
  const [judged, setJudged] = useState<{ verdicts: (Measurement | undefined)[]; problems: Record<string, string>; offline: boolean }>({ verdicts: [], problems: {}, offline: false });
  const outbox = useOutbox().filter((e) => e.ticketId === ticketId && e.kind === "survey");
  const judging = useRef(0);
  const signatureSent = useRef<OutboxFile | undefined>(undefined);

  const [offline, setOffline] = useState(false);
  const load = useCallback(async () => {
    try {
      const [tk, mine] = await Promise.all([
        intake.getTicket({ ticketId }),
        dispatch.listAssignments({ pageSize: 10, ticketId, states: [AssignmentState.OFFERED, AssignmentState.CONFIRMED, AssignmentState.ARRIVED, AssignmentState.COMPLETED] }),
      ]);
      const found = mine.assignments.find((a) => a.ticketId === ticketId && a.technicianId === session.subject);
      const pj = tk.ticket?.projectId ? (await intake.getProject({ projectId: tk.ticket.projectId })).project : undefined;
      setTicket(tk.ticket);
      setAssignment(found);
      setProject(pj);
      saveJob(ticketId, tk.ticket, pj, found);
      setOffline(false);
      setError("");
    } catch (err) {
      // No network: the job as this device last read it.
      const saved = isCode(err, Code.Unknown) || isCode(err, Code.Unavailable) ? savedJob(ticketId) : undefined;
      if (saved) {
        setTicket(saved.ticket);
        setProject(saved.project);
        setAssignment(saved.assignment);
        setOffline(true);
        setError("");
      } else {
        setError(showError(err, undefined, t));
      }
    }
  }, [ticketId, session.subject, t]);
  useEffect(() => { void load(); }, [load]);
  // When the outbox empties (the report arrived), the case has moved on: read it again.
  const pending = outbox.length;
  useEffect(() => { if (pending === 0) void load(); }, [pending, load]);
  // Opened with no network, the job is read when the connection returns.
  useEffect(() => {
    const online = () => void load();
    window.addEventListener("online", online);
    return () => window.removeEventListener("online", online);
  }, [load]);

  // The draft survives a reload and a sleeping phone; a correction replaces it (and remounts
  // the form with it), with the server's reasons to show against its fields.
  const [correction, setCorrection] = useState<{ draft: Draft; reasons: { name: (string | number)[]; errors: string[] }[] }>();
  const initial = useMemo<Draft>(() => {
    try {
      return JSON.parse(localStorage.getItem(draftKey(ticketId)) ?? "null") ?? { measurements: [{ kind: "coating", design_um: 150, coats: 2, at: Date.now() }] };
    } catch {
      return {};
    }
  }, [ticketId]);

  // Each change is judged by the server a moment after the typing stops.
  const judge = useCallback((draft: Draft) => {
    const call = ++judging.current;
    window.setTimeout(async () => {
      if (call !== judging.current) return;
      const items = (draft.measurements ?? []).filter((i) => readings(i.readings).length > 0);
      const order = (draft.measurements ?? []).map((i) => (readings(i.readings).length > 0 ? items.indexOf(i) : -1));
      if (items.length === 0) return setJudged({ verdicts: [], problems: {}, offline: false });
      try {
        const r = await repair.judgeMeasurements({ measurements: items.map(measurement) });
        if (call === judging.current) setJudged({ verdicts: order.map((i) => (i >= 0 ? r.measurements[i] : undefined)), problems: {}, offline: false });
      } catch (err) {
        if (call !== judging.current) return;
        const violations = fieldViolations(err);
        // The server names the sent items; the form shows them at their own place.
        const problems: Record<string, string> = {};
        for (const [path, text] of Object.entries(violations)) {
          const m = /^measurements\[(\d+)\]/.exec(path);
          const at = m ? order.indexOf(Number(m[1])) : -1;
          problems[at >= 0 ? String(at) : "all"] = text;
        }
        setJudged({ verdicts: [], problems, offline: Object.keys(violations).length === 0 });
      }
    }, 400);
  }, []);
  useEffect(() => judge(initial), [initial, judge]);

  const changed = (edited: unknown, all: Draft) => {
    localStorage.setItem(draftKey(ticketId), JSON.stringify(all));
    if (edited) clearEdited(form)(edited as Record<string, unknown>);
    judge(all);
  };

  const arrive = async () => {
    if (!assignment) return;
    try {
      const where = await position();
      await dispatch.recordArrival({ assignmentId: assignment.assignmentId, position: where });
      await load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };

  const submit = async (draft: Draft) => {
    const me = { userId: session.subject, displayName: session.displayName || session.subject, title: t("surveyor") };
    const representative = { displayName: draft.representative ?? "", title: t("customerRepresentative") };
    const now = timestampNow();
    const signedAt = new Date();
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
            caption: [representative.displayName, signedAt.toISOString(), where ? `${where.latitude.toFixed(5)},${where.longitude.toFixed(5)}` : ""].filter(Boolean).join(" · "),
            dataUrl: draft.signature,
            use: "signature" as const,
          }]
        : []),
    ];
    const items = draft.measurements ?? [];
    rememberInstruments(items);
    const request = create(SubmitSurveyReportRequestSchema, {
      requestId: crypto.randomUUID(),
      ticketId,
      content: {
        surveyTime: { startTime: assignment?.arriveTime ?? now, endTime: now },
        participants: [representative, me],
        findings: draft.findings ?? "",
        measurements: items.map(measurement),
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
    if (!enqueueSurvey(request, ticket?.acceptanceNumber ?? ticketId, files)) {
      setError(t("deviceFull"));
      return;
    }
    localStorage.removeItem(draftKey(ticketId));
  };

  // A refused report comes back into the form to be corrected (and is sent as a new request).
  const correct = (entry: Entry) => {
    const content = surveyRequest(entry).content;
    const representativeSignature = content?.signatures.find((x) => x.role === SignatureRole.CUSTOMER_REPRESENTATIVE);
    const draft: Draft = {
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
        calibrated_until: m.instrument?.calibrationValidUntil ? `${m.instrument.calibrationValidUntil.year}-${String(m.instrument.calibrationValidUntil.month).padStart(2, "0")}-${String(m.instrument.calibrationValidUntil.day).padStart(2, "0")}` : undefined,
        readings: m.readings.join(" "),
        at: Date.now(),
      })),
    };
    localStorage.setItem(draftKey(ticketId), JSON.stringify(draft));
    // The signature as it was sent: unchanged, it goes again as the same attachment.
    signatureSent.current = entry.files?.find((f) => f.use === "signature");
    discard(entry.requestId);
    setCorrection({
      draft,
      reasons: Object.entries(entry.fields ?? {}).flatMap(([path, text]) => {
        const name = formField(path);
        return name ? [{ name, errors: [text] }] : [];
      }),
    });
    judge(draft);
  };

  const address = project?.address;
  const surveyShown = !!assignment?.arriveTime && ticket?.state === CaseState.SURVEY_SCHEDULED;
  // A correction fills the form (once it shows) with the refused report, and the server's
  // reasons stay against the fields they name until those are edited.
  const [reasonsToShow, setReasonsToShow] = useState<{ name: (string | number)[]; errors: string[] }[]>([]);
  useEffect(() => {
    if (!correction || !surveyShown) return;
    form.resetFields();
    form.setFieldsValue(correction.draft);
    // The list's items are made again with the values: the reasons go on them after that.
    setReasonsToShow(correction.reasons);
    setCorrection(undefined);
  }, [correction, surveyShown, form]);
  useEffect(() => {
    if (reasonsToShow.length === 0) return;
    form.setFields(reasonsToShow.map((r) => ({ name: r.name as never, errors: r.errors })));
    setReasonsToShow([]);
  }, [reasonsToShow, form]);
  const where = address?.position;
  const arrived = !!assignment?.arriveTime;
  const surveying = arrived && ticket?.state === CaseState.SURVEY_SCHEDULED && !outbox.some((e) => e.state === "waiting");
  const known = knownInstruments();
  const pickInstrument = (index: number, serial: string) => {
    const k = known.find((x) => x.serial === serial);
    if (!k) return;
    const items = [...(form.getFieldValue("measurements") ?? [])];
    items[index] = { ...items[index], ...k };
    form.setFieldValue("measurements", items);
    changed(undefined, form.getFieldsValue(true));
  };

  return (
    <Space direction="vertical" style={{ width: "100%" }} size="middle">
      <ErrorAlert message={error} />
      {offline && <Alert type="info" showIcon message={t("offlineSaved")} data-testid="offline" />}
      <Card size="small" title={<span data-testid="job-number">{ticket?.acceptanceNumber}</span>}>
        <Space direction="vertical" size={4} style={{ width: "100%" }}>
          <Typography.Text strong>{ticket?.description?.phenomenon}</Typography.Text>
          <Typography.Text>{project?.name}</Typography.Text>
          <Typography.Text type="secondary" data-testid="job-address">
            {[address?.province, address?.city, address?.district, address?.street].filter(Boolean).join(" ")}
          </Typography.Text>
          {where && (
            <a href={`https://uri.amap.com/marker?position=${where.longitude},${where.latitude}&name=${encodeURIComponent(project?.name ?? "")}`} target="_blank" rel="noreferrer" data-testid="map-link">
              {t("openMap")}
            </a>
          )}
          {assignment && <Typography.Text type="secondary">{t("deadline")} <Time value={assignment.arrivalDeadlineTime} /></Typography.Text>}
        </Space>
      </Card>

      {(assignment || ticket?.state === CaseState.SURVEY_SCHEDULED) && (
        <Card size="small" title={t("arrival")}>
          {arrived ? (
            <Typography.Text data-testid="arrived">{t("arrivedAt")} <Time value={assignment?.arriveTime} /></Typography.Text>
          ) : (
            <Button type="primary" size="large" block onClick={arrive} disabled={!assignment} data-testid="record-arrival">{t("recordArrival")}</Button>
          )}
        </Card>
      )}

      {outbox.length > 0 && (
        <Card size="small" title={t("waitingToSend")} data-testid="job-outbox">
          <List
            dataSource={outbox}
            renderItem={(e) => (
              <List.Item data-testid={e.state === "waiting" ? "outbox-waiting" : "outbox-refused"}>
                {e.state === "waiting" ? (
                  <Typography.Text>{t("surveyReport")} · {t("waitingForNetwork")}</Typography.Text>
                ) : (
                  <Space direction="vertical" style={{ width: "100%" }}>
                    <Alert
                      type="error"
                      showIcon
                      message={t("refusedByServer")}
                      description={<span data-testid="refusal">{Object.values(e.fields ?? {}).join(" · ") || e.error}</span>}
                    />
                    <Button size="large" block onClick={() => correct(e)} data-testid="correct">{t("correctIt")}</Button>
                  </Space>
                )}
              </List.Item>
            )}
          />
        </Card>
      )}

      {surveying && (
        <Card size="small" title={t("surveyReport")}>
          <Form form={form} layout="vertical" initialValues={initial} onValuesChange={changed} onFinish={submit} size="large">
            <Form.Item name="findings" label={t("findings")} rules={[{ required: true, message: t("required") }]}>
              <Input.TextArea rows={3} data-testid="survey-findings" />
            </Form.Item>
            <Form.List name="measurements">
              {(fields, { add, remove }) => (
                <Space direction="vertical" style={{ width: "100%" }}>
                  {fields.map((field) => {
                    const problem = judged.problems[String(field.name)];
                    return (
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
                        <Verdict judged={judged.verdicts[field.name]} problem={problem} offline={judged.offline} testId={`m-verdict-${field.name}`} />
                      </Card>
                    );
                  })}
                  <Button block onClick={() => add({ kind: "coating", design_um: 150, coats: 2, at: Date.now() })} data-testid="add-measurement">{t("addMeasurement")}</Button>
                </Space>
              )}
            </Form.List>
            <Form.Item name="root_cause" label={t("rootCause")} rules={[{ required: true, message: t("required") }]}>
              <Select data-testid="survey-root-cause" options={enumValues("RootCause").map((v) => ({ value: v, label: enumLabel(lang, "RootCause", v) }))} />
            </Form.Item>
            <Form.Item name="party" label={t("responsibleParty")} rules={[{ required: true, message: t("required") }]}>
              <Select data-testid="survey-party" options={enumValues("ResponsibleParty").map((v) => ({ value: v, label: enumLabel(lang, "ResponsibleParty", v) }))} />
            </Form.Item>
            <Form.Item name="photos" label={t("photos")}>
              <PhotoPicker />
            </Form.Item>
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
            <Button type="primary" htmlType="submit" block data-testid="survey-submit">{t("signAndSend")}</Button>
          </Form>
        </Card>
      )}
      {arrived && ticket && ticket.state === CaseState.SURVEYED && outbox.length === 0 && (
        <Alert type="success" showIcon message={t("surveyReceived")} data-testid="survey-received" />
      )}
      {ticket && [CaseState.AGREED, CaseState.IN_REPAIR, CaseState.SELF_INSPECTED].includes(ticket.state) && (
        <RepairWork ticket={ticket} offline={offline} onChanged={load} />
      )}
    </Space>
  );
}
