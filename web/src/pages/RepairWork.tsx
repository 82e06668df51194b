// The crew's repair on site, phone first: the agreed plan's steps (key steps marked), work-log
// entries with materials, crew, times, problems and photos, key-step inspections judged as
// typed against the step's criteria, completion (by an engineer, as the API has it), and then
// the self-inspection against every criterion of the plan. Entries and inspections go through
// the outbox like the survey report: kept on the device, sent when the network is there (the
// self-inspection is sent online).
import { useCallback, useEffect, useState } from "react";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Alert, Button, Card, Form, Input, InputNumber, List, Select, Space, Tag, Typography, type FormInstance } from "antd";
import { CaseState, type Measurement } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import {
  LogWorkRequestSchema,
  PlanStatus,
  RecordInspectionRequestSchema,
  RepairPlanSchema,
  type Inspection,
  type PlanStep,
  type RepairPlan,
  type WorkLogEntry,
} from "../gen/steelcare/repair/v1/repair_service_pb";
import { Code, isCode, repair } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, showError, useLatest } from "../components";
import { hasRole, useSession } from "../session";
import { discard, enqueueInspection, enqueueWork, useOutbox, type Entry, type OutboxFile } from "../outbox";
import { PhotoPicker, type Photo } from "../media";
import SelfInspectionForm from "./SelfInspection";
import { localInput } from "../time";
import { Verdict, knownInstruments, measured, readings, rememberInstruments, useJudgement, type CheckItem, type Judged } from "../measure";

interface WorkDraft {
  step_id?: string;
  content?: string;
  material?: string;
  quantity?: string;
  batch?: string;
  certificate?: string;
  crew?: string[];
  start?: string;
  end?: string;
  problems?: string;
  handling?: string;
  progress?: number;
  photos?: Photo[];
}

interface InspectionDraft {
  step_id?: string;
  items?: CheckItem[];
  notes?: string;
}

const planKey = (ticketId: string) => `steelcare.plan.${ticketId}`;

/** Where a form shows a field the server names in a work-log entry or an inspection. */
function formField(path: string): (string | number)[] | undefined {
  const m = /^measurements\[(\d+)\]\.(\w+)(?:\.(\w+))?/.exec(path);
  if (m) {
    const own: Record<string, string> = { calibration_valid_until: "calibrated_until", serial_number: "serial", kind: "instrument_kind", location: "location" };
    return ["items", Number(m[1]), own[m[3] ?? m[2]] ?? "readings"];
  }
  const plain: Record<string, string> = {
    step_id: "step_id",
    content: "content",
    crew_technician_ids: "crew",
    work_time: "end",
    problems: "problems",
    handling: "handling",
    progress_percent: "progress",
    notes: "notes",
  };
  if (path.startsWith("materials")) return [/certificate/.test(path) ? "certificate" : /batch/.test(path) ? "batch" : /quantity/.test(path) ? "quantity" : "material"];
  const name = plain[path.replace(/[[.].*$/, "")];
  return name ? [name] : undefined;
}

export default function RepairWork({ ticket, offline, onChanged }: { ticket: Ticket; offline: boolean; onChanged: () => void }) {
  const { t } = useI18n();
  const session = useSession();
  const ticketId = ticket.ticketId;
  const [plan, setPlan] = useState<RepairPlan>();
  const [log, setLog] = useState<WorkLogEntry[]>([]);
  const [inspections, setInspections] = useState<Inspection[]>([]);
  const [error, setError] = useState("");
  const [workForm] = Form.useForm<WorkDraft>();
  const [inspectForm] = Form.useForm<InspectionDraft>();
  const [judged, judgeItems] = useJudgement();
  const outbox = useOutbox().filter((e) => e.ticketId === ticketId && e.kind !== "survey");

  const latest = useLatest();
  const load = useCallback(async () => {
    const current = latest();
    try {
      const [plans, work, checks] = await Promise.all([
        repair.listPlans({ ticketId }),
        repair.listWorkLog({ ticketId, pageSize: 100 }),
        repair.listInspections({ ticketId }),
      ]);
      if (!current()) return;
      const agreed = plans.plans.find((p) => p.status === PlanStatus.AGREED);
      setPlan(agreed);
      if (agreed) localStorage.setItem(planKey(ticketId), JSON.stringify(toJson(RepairPlanSchema, agreed)));
      setLog(work.entries);
      setInspections(checks.inspections);
      setError("");
    } catch (err) {
      if (!current()) return;
      // No network: the plan as this device last read it.
      const saved = localStorage.getItem(planKey(ticketId));
      if ((isCode(err, Code.Unknown) || isCode(err, Code.Unavailable)) && saved) setPlan(fromJson(RepairPlanSchema, JSON.parse(saved)));
      else setError(showError(err, undefined, t));
    }
  }, [ticketId, t, latest]);
  const pending = outbox.filter((e) => e.state === "waiting").length;
  useEffect(() => { void load(); }, [load, pending, ticket.state]);
  // Once what waited has arrived, the case may have moved on (the first entry starts the repair).
  useEffect(() => {
    if (pending === 0) onChanged();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pending]);

  const steps = plan?.content?.steps ?? [];
  const crew = plan?.content?.crewTechnicianIds ?? [];
  const keySteps = steps.filter((s) => s.keyStep);

  const logWork = async (draft: WorkDraft) => {
    const photos: OutboxFile[] = (draft.photos ?? []).map((p) => ({ requestId: p.id, fileName: p.name, caption: "", dataUrl: p.dataUrl, use: "image" }));
    const request = create(LogWorkRequestSchema, {
      requestId: crypto.randomUUID(),
      ticketId,
      stepId: draft.step_id ?? "",
      content: draft.content ?? "",
      materials: draft.material ? [{ name: draft.material, quantity: draft.quantity ?? "", batch: draft.batch ?? "", certificateRefs: draft.certificate ? [draft.certificate] : [] }] : [],
      crewTechnicianIds: draft.crew ?? [],
      workTime: {
        startTime: draft.start ? timestampFromDate(new Date(draft.start)) : undefined,
        endTime: draft.end ? timestampFromDate(new Date(draft.end)) : undefined,
      },
      problems: draft.problems ?? "",
      handling: draft.handling ?? "",
      progressPercent: draft.progress ?? 0,
    });
    if (!(await enqueueWork(request, ticket.acceptanceNumber, photos, draft))) return setError(t("deviceFull"));
    workForm.resetFields();
  };

  // An inspection's items are the step's criteria; each is judged a moment after typing stops.
  const criteria = (stepId?: string) => steps.find((s) => s.stepId === stepId)?.qualityCriteria ?? [];
  const judge = (draft: InspectionDraft) => {
    const wanted = criteria(draft.step_id);
    judgeItems((draft.items ?? []).map((item, i) => (wanted[i] && readings(item.readings).length > 0 ? measured(wanted[i], item) : undefined)));
  };
  const pickStep = (stepId: string) => {
    const last = knownInstruments().at(-1);
    inspectForm.setFieldsValue({ step_id: stepId, items: criteria(stepId).map(() => ({ ...last })) });
  };
  const inspect = async (draft: InspectionDraft) => {
    const wanted = criteria(draft.step_id);
    rememberInstruments(draft.items ?? []);
    const request = create(RecordInspectionRequestSchema, {
      requestId: crypto.randomUUID(),
      ticketId,
      stepId: draft.step_id ?? "",
      measurements: (draft.items ?? []).map((item, i) => measured(wanted[i], item)),
      notes: draft.notes ?? "",
    });
    if (!(await enqueueInspection(request, ticket.acceptanceNumber, draft))) return setError(t("deviceFull"));
    inspectForm.resetFields();
    judgeItems([]);
  };

  // A refused entry goes back into its form, the server's reasons at their fields.
  const correct = (entry: Entry) => {
    const form = entry.kind === "worklog" ? workForm : inspectForm;
    void discard(entry.requestId);
    form.resetFields();
    form.setFieldsValue(entry.draft as never);
    window.setTimeout(() => {
      form.setFields(
        Object.entries(entry.fields ?? {}).flatMap(([path, text]) => {
          const name = formField(path);
          return name ? [{ name: name as never, errors: [text] }] : [];
        }),
      );
      if (entry.kind === "inspection") judge(entry.draft as InspectionDraft);
    }, 0);
  };

  const working = ticket.state === CaseState.AGREED || ticket.state === CaseState.IN_REPAIR;
  // The completion clock stops when the repair is declared finished (and runs again when a
  // failed acceptance clears the completion).
  const completed = ticket.sla?.completion?.stopTime !== undefined;
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="middle">
      <ErrorAlert message={error} />
      <PlanSteps steps={steps} />

      <WorkOutbox entries={outbox} onCorrect={correct} />

      {working && <WorkLogForm form={workForm} steps={steps} crew={crew} onFinish={logWork} />}
      {working && keySteps.length > 0 && (
        <InspectionForm form={inspectForm} keySteps={keySteps} criteria={criteria} judged={judged} offline={offline} onStep={pickStep} onChange={judge} onFinish={inspect} />
      )}
      <WorkSoFar log={log} inspections={inspections} />
      {ticket.state === CaseState.IN_REPAIR && hasRole(session, "engineer", "admin") && (
        <Completion ticketId={ticketId} disabled={offline || pending > 0} onCompleted={onChanged} />
      )}
      {ticket.state === CaseState.IN_REPAIR && completed && plan && hasRole(session, "technician", "engineer", "admin") && (
        <SelfInspectionForm ticket={ticket} plan={plan} offline={offline} onDone={onChanged} />
      )}
      {/* The form goes once the case has passed; what it passed stays in view for the crew. */}
      {ticket.state === CaseState.SELF_INSPECTED && (
        <Alert type="success" showIcon data-testid="self-inspection-result" message={t("selfInspectionPassed")} />
      )}
    </Space>
  );
}

/** A step as a select shows it: id, description, and whether it is a key step. */
function useStepLabel() {
  const { t } = useI18n();
  return (s: PlanStep) => `${s.stepId} · ${s.description}${s.keyStep ? ` (${t("keyStep")})` : ""}`;
}

/** A work-log entry: step, work done, a material with its certificate, crew, times, problems
 * and their handling, progress, photos. */
function WorkLogForm({ form, steps, crew, onFinish }: { form: FormInstance<WorkDraft>; steps: PlanStep[]; crew: string[]; onFinish: (d: WorkDraft) => void }) {
  const { t } = useI18n();
  const session = useSession();
  const stepLabel = useStepLabel();
  return (
<Card size="small" title={t("workLog")}>
        <Form form={form} layout="vertical" size="large" onFinish={onFinish} onValuesChange={clearEdited(form)} initialValues={{ crew: [session.subject], start: localInput(new Date(Date.now() - 3600_000)), end: localInput(new Date()) }}>
          <Form.Item name="step_id" label={t("step")} rules={[{ required: true, message: t("required") }]}>
            <Select data-testid="work-step" options={steps.map((s) => ({ value: s.stepId, label: stepLabel(s) }))} />
          </Form.Item>
          <Form.Item name="content" label={t("workDone")} rules={[{ required: true, message: t("required") }]}>
            <Input.TextArea rows={2} data-testid="work-content" />
          </Form.Item>
          <Space.Compact block>
            <Form.Item name="material" label={t("material")} style={{ flex: 2 }}><Input data-testid="work-material" /></Form.Item>
            <Form.Item name="quantity" label={t("materialQuantity")} style={{ flex: 1 }}><Input data-testid="work-quantity" /></Form.Item>
          </Space.Compact>
          <Space.Compact block>
            <Form.Item name="batch" label={t("batch")} style={{ flex: 1 }}><Input /></Form.Item>
            <Form.Item name="certificate" label={t("certificate")} style={{ flex: 1 }}><Input data-testid="work-certificate" /></Form.Item>
          </Space.Compact>
          <Form.Item name="crew" label={t("crew")}>
            <Select mode="multiple" options={crew.map((id) => ({ value: id, label: id === session.subject ? session.displayName || id : id }))} />
          </Form.Item>
          <Form.Item name="start" label={t("from")}><Input type="datetime-local" /></Form.Item>
          <Form.Item name="end" label={t("to")}><Input type="datetime-local" data-testid="work-end" /></Form.Item>
          <Form.Item name="problems" label={t("problems")}><Input.TextArea rows={2} /></Form.Item>
          <Form.Item name="handling" label={t("handling")}><Input.TextArea rows={2} /></Form.Item>
          <Form.Item name="progress" label={t("progressPercent")} rules={[{ required: true, message: t("required") }]}>
            <InputNumber min={0} max={100} style={{ width: "100%" }} inputMode="numeric" data-testid="work-progress" />
          </Form.Item>
          <Form.Item name="photos" label={t("photos")}><PhotoPicker /></Form.Item>
          <Button type="primary" htmlType="submit" block data-testid="work-submit">{t("logWork")}</Button>
        </Form>
      </Card>
  );
}

/** A key step's inspection: each of its criteria measured, judged as typed. */
function InspectionForm(props: {
  form: FormInstance<InspectionDraft>;
  keySteps: PlanStep[];
  criteria: (stepId?: string) => Measurement[];
  judged: Judged;
  offline: boolean;
  onStep: (stepId: string) => void;
  onChange: (d: InspectionDraft) => void;
  onFinish: (d: InspectionDraft) => void;
}) {
  const { form, keySteps, criteria, judged, offline, onStep, onChange, onFinish } = props;
  const { t, lang } = useI18n();
  const stepLabel = useStepLabel();
  return (
<Card size="small" title={t("keyStepInspection")}>
        <Form form={form} layout="vertical" size="large" onFinish={onFinish} onValuesChange={(edited, all) => { clearEdited(form)(edited); onChange(all); }}>
          <Form.Item name="step_id" label={t("step")} rules={[{ required: true, message: t("required") }]}>
            <Select data-testid="inspect-step" onChange={onStep} options={keySteps.map((s) => ({ value: s.stepId, label: stepLabel(s) }))} />
          </Form.Item>
          <Form.List name="items">
            {(fields) =>
              fields.map((field) => {
                const criterion = criteria(form.getFieldValue("step_id"))[field.name];
                return (
                  <Card key={field.key} size="small" type="inner" title={`${t("criterion")} ${field.name + 1} · ${criterion?.member ?? ""}`}>
                    <Form.Item name={[field.name, "location"]} label={t("location")}><Input /></Form.Item>
                    <Form.Item name={[field.name, "instrument_kind"]} label={t("instrument")}>
                      <Select options={enumValues("InstrumentKind").map((v) => ({ value: v, label: enumLabel(lang, "InstrumentKind", v) }))} data-testid={`i-instrument-${field.name}`} />
                    </Form.Item>
                    <Space.Compact block>
                      <Form.Item name={[field.name, "serial"]} label={t("serialNumber")} style={{ flex: 1 }}><Input data-testid={`i-serial-${field.name}`} /></Form.Item>
                      <Form.Item name={[field.name, "calibrated_until"]} label={t("calibratedUntil")} style={{ flex: 1 }}><Input type="date" data-testid={`i-calibrated-${field.name}`} /></Form.Item>
                    </Space.Compact>
                    <Form.Item name={[field.name, "readings"]} label={t("readings")} extra={t("readingsHelp")}>
                      <Input inputMode="decimal" data-testid={`i-readings-${field.name}`} />
                    </Form.Item>
                    <Verdict judged={judged.verdicts[field.name]} problem={judged.problems[String(field.name)]} offline={judged.offline || offline} testId={`i-verdict-${field.name}`} />
                  </Card>
                );
              })
            }
          </Form.List>
          <Form.Item name="notes" label={t("notes")}><Input.TextArea rows={2} /></Form.Item>
          <Button type="primary" htmlType="submit" block data-testid="inspect-submit">{t("recordInspection")}</Button>
        </Form>
      </Card>
  );
}

/** What the crew has recorded so far: work-log entries and inspections, by whom. */
function WorkSoFar({ log, inspections }: { log: WorkLogEntry[]; inspections: Inspection[] }) {
  const { t } = useI18n();
  return (
    <Card size="small" title={t("workDoneSoFar")}>
      <List
        dataSource={[...log.map((e) => ({ key: e.entryId, at: e.createTime, text: `${e.stepId} · ${e.content} · ${e.progressPercent}%`, by: e.loggedBy?.displayName || e.loggedBy?.subject })), ...inspections.map((i) => ({ key: i.inspectionId, at: i.createTime, text: `${t("keyStepInspection")} ${i.stepId} · ${i.passed ? t("passed") : t("failed")}`, by: i.inspector?.displayName || i.inspector?.subject }))]}
        locale={{ emptyText: t("nothingYet") }}
        renderItem={(x) => (
          <List.Item data-testid="work-record">
            <Space direction="vertical" size={0}><span>{x.text}</span><Typography.Text type="secondary"><Time value={x.at} /> · {x.by}</Typography.Text></Space>
          </List.Item>
        )}
      />
    </Card>
  );
}

/** The agreed plan's steps, the key steps marked with their criteria. */
function PlanSteps({ steps }: { steps: PlanStep[] }) {
  const { t } = useI18n();
  return (
    <Card size="small" title={t("agreedPlan")} data-testid="plan-steps">
      <List
        dataSource={steps}
        locale={{ emptyText: t("noPlanYet") }}
        renderItem={(s) => (
          <List.Item>
            <Space direction="vertical" size={0}>
              <span>{s.keyStep && <Tag color="volcano">{t("keyStep")}</Tag>}<b>{s.stepId}</b> {s.description}</span>
              {s.qualityCriteria.length > 0 && <Typography.Text type="secondary">{t("criteria")}: {s.qualityCriteria.map((c) => c.member).join(", ")}</Typography.Text>}
            </Space>
          </List.Item>
        )}
      />
    </Card>
  );
}

/** Work-log entries and inspections waiting on the device, and those refused, to correct. */
function WorkOutbox({ entries, onCorrect }: { entries: Entry[]; onCorrect: (e: Entry) => void }) {
  const { t } = useI18n();
  if (entries.length === 0) return null;
  return (
    <Card size="small" title={t("waitingToSend")}>
      <List
        dataSource={entries}
        renderItem={(e) => (
          <List.Item data-testid={e.state === "waiting" ? "work-waiting" : "work-refused"}>
            {e.state === "waiting" ? (
              <Typography.Text>{t(e.kind === "worklog" ? "workLog" : "keyStepInspection")} · {t("waitingForNetwork")}</Typography.Text>
            ) : (
              <Space direction="vertical" style={{ width: "100%" }}>
                <Alert type="error" showIcon message={t("refusedByServer")} description={Object.values(e.fields ?? {}).join(" · ") || e.error} />
                <Button size="large" block onClick={() => onCorrect(e)} data-testid="work-correct">{t("correctIt")}</Button>
              </Space>
            )}
          </List.Item>
        )}
      />
    </Card>
  );
}

/** The engineer completes the repair (the key steps passed). The request id is kept on the
 * device: pressed again, or after a reload, it answers the completion already made. */
function Completion({ ticketId, disabled, onCompleted }: { ticketId: string; disabled: boolean; onCompleted: () => void }) {
  const { t } = useI18n();
  const completedKey = `steelcare.completed.${ticketId}`;
  const [completed, setCompleted] = useState(() => localStorage.getItem(completedKey) ?? "");
  const [summary, setSummary] = useState("");
  const [error, setError] = useState("");
  const complete = async () => {
    try {
      const requestKey = `${completedKey}.request`;
      const requestId = localStorage.getItem(requestKey) ?? crypto.randomUUID();
      localStorage.setItem(requestKey, requestId);
      const done = await repair.completeRepair({ requestId, ticketId, summary });
      const at = done.completeTime ? timestampDate(done.completeTime).toISOString() : new Date().toISOString();
      localStorage.setItem(completedKey, at);
      setCompleted(at);
      onCompleted();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  if (completed) return <Alert type="success" showIcon message={<>{t("repairCompleted")} <Time value={new Date(completed)} /></>} data-testid="completed" />;
  return (
    <Card size="small" title={t("completeRepair")}>
      <Space direction="vertical" style={{ width: "100%" }}>
        <ErrorAlert message={error} />
        <Input.TextArea rows={2} value={summary} onChange={(e) => setSummary(e.target.value)} placeholder={t("completionSummary")} data-testid="complete-summary" />
        <Button type="primary" size="large" block onClick={complete} disabled={disabled || !summary.trim()} data-testid="complete">{t("completeRepair")}</Button>
      </Space>
    </Card>
  );
}
