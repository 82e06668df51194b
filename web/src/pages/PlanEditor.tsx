// The repair plan editor (MISSION §5.1): objective, scope, methods, steps with key steps and
// their quality criteria, materials with certificates, safety measures, schedule, crew, equipment
// and cost estimate. A revision starts from the latest version and says why. The server checks
// everything (the crew's qualifications and bookings elsewhere included) and computes the
// approval chain; what it refuses is shown at the field.
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { Alert, Button, Card, Form, Input, InputNumber, Select, Space, Switch, Typography } from "antd";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MeasurementSchema, StoreyType, type Measurement } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import type { Technician } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import type { PlanContent, PlanContentSchema, RepairPlan } from "../gen/steelcare/repair/v1/repair_service_pb";
import { dispatch, intake, repair, requestId } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, clearEdited, fen, lines, showError, yuan } from "../components";
import { localInput, toDate } from "../time";
import { PlanDetails } from "../plan";
import { SimilarCases } from "../experience";

interface CriterionFields {
  kind?: "coating" | "verticality";
  member?: string;
  location?: string;
  design_um?: number;
  coats?: number;
  height_mm?: number;
}
interface StepFields {
  description?: string;
  key_step?: boolean;
  quality_criteria?: CriterionFields[];
}
/** The form, named as ProposePlan names its fields so that refusals land at them. */
interface Fields {
  revision_reason?: string;
  content?: {
    objective?: string;
    scope?: string;
    structural_scope?: boolean;
    methods?: string;
    materials?: { name?: string; quantity?: string; certificate_refs?: string }[];
    steps?: StepFields[];
    safety_measures?: string;
    schedule?: { start_time?: string; end_time?: string };
    crew_technician_ids?: string[];
    equipment?: string;
    cost_estimate?: string;
    expected_bearer?: number;
    expected_effect?: string;
    disruption?: string;
  };
}


function criterion(c: CriterionFields): Measurement {
  const quantity =
    c.kind === "verticality"
      ? { case: "overallVerticality" as const, value: { heightMm: c.height_mm ?? 0, storeyType: StoreyType.SINGLE } }
      : { case: "coatingThickness" as const, value: { indoor: false, designThicknessUm: c.design_um ?? 0, coats: c.coats ?? 1, oneCoat: false } };
  return create(MeasurementSchema, { quantity, member: c.member ?? "", location: c.location ?? "" });
}

/** The form's values as the plan's content. */
function content(f: Fields["content"] = {}, currency: string): MessageInitShape<typeof PlanContentSchema> {
  const start = f.schedule?.start_time ? new Date(f.schedule.start_time) : undefined;
  const end = f.schedule?.end_time ? new Date(f.schedule.end_time) : undefined;
  const minor = fen(f.cost_estimate);
  return {
    objective: f.objective ?? "",
    scope: f.scope ?? "",
    structuralScope: f.structural_scope ?? false,
    methods: f.methods ?? "",
    materials: (f.materials ?? []).map((m) => ({ name: m.name ?? "", quantity: m.quantity ?? "", certificateRefs: (m.certificate_refs ?? "").split(/[,，]/).map((s) => s.trim()).filter(Boolean) })),
    steps: (f.steps ?? []).map((s, i) => ({ stepId: `s${i + 1}`, description: s.description ?? "", keyStep: s.key_step ?? false, qualityCriteria: (s.quality_criteria ?? []).map(criterion) })),
    safetyMeasures: lines(f.safety_measures),
    schedule: { startTime: start && timestampFromDate(start), endTime: end && timestampFromDate(end) },
    crewTechnicianIds: f.crew_technician_ids ?? [],
    equipment: lines(f.equipment),
    costEstimate: minor === undefined ? undefined : ({ currencyCode: currency, amountMinor: minor }),
    expectedBearer: f.expected_bearer ?? 0,
    expectedEffect: f.expected_effect ?? "",
    disruption: f.disruption ?? "",
  };
}

/** A version's content as the form's values, to revise it. */
function fields(c: PlanContent | undefined): Fields["content"] {
  if (!c) return { steps: [{ key_step: false }], materials: [] };
  return {
    objective: c.objective,
    scope: c.scope,
    structural_scope: c.structuralScope,
    methods: c.methods,
    materials: c.materials.map((m) => ({ name: m.name, quantity: m.quantity, certificate_refs: m.certificateRefs.join(", ") })),
    steps: c.steps.map((s) => ({
      description: s.description,
      key_step: s.keyStep,
      quality_criteria: s.qualityCriteria.map((q) =>
        q.quantity.case === "overallVerticality"
          ? { kind: "verticality" as const, member: q.member, location: q.location, height_mm: q.quantity.value.heightMm }
          : { kind: "coating" as const, member: q.member, location: q.location, design_um: q.quantity.case === "coatingThickness" ? q.quantity.value.designThicknessUm : 150, coats: q.quantity.case === "coatingThickness" ? q.quantity.value.coats : 2 },
      ),
    })),
    safety_measures: c.safetyMeasures.join("\n"),
    schedule: { start_time: localInput(toDate(c.schedule?.startTime)), end_time: localInput(toDate(c.schedule?.endTime)) },
    crew_technician_ids: c.crewTechnicianIds,
    equipment: c.equipment.join("\n"),
    cost_estimate: yuan(c.costEstimate?.amountMinor),
    expected_bearer: c.expectedBearer || undefined,
    expected_effect: c.expectedEffect,
    disruption: c.disruption,
  };
}

function Criteria({ step }: { step: number }) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  return (
    <Form.List name={[step, "quality_criteria"]}>
      {(items, { add, remove }) => (
        <Space direction="vertical" style={{ width: "100%" }}>
          {items.map((item) => (
            <Space key={item.key} wrap align="end" data-testid={`criterion-${step}-${item.name}`}>
              <Form.Item name={[item.name, "kind"]} label={t("quantity")}>
                <Select style={{ width: 200 }} options={[{ value: "coating", label: t("coatingThickness") }, { value: "verticality", label: t("overallVerticality") }]} />
              </Form.Item>
              <Form.Item noStyle shouldUpdate>
                {() =>
                  form.getFieldValue(["content", "steps", step, "quality_criteria", item.name, "kind"]) === "verticality" ? (
                    <Form.Item name={[item.name, "height_mm"]} label={t("heightMm")}><InputNumber min={0} /></Form.Item>
                  ) : (
                    <Space>
                      <Form.Item name={[item.name, "design_um"]} label={t("designThickness")}><InputNumber min={0} /></Form.Item>
                      <Form.Item name={[item.name, "coats"]} label={t("coats")}><InputNumber min={1} data-testid={`criterion-coats-${step}-${item.name}`} /></Form.Item>
                    </Space>
                  )
                }
              </Form.Item>
              <Form.Item name={[item.name, "member"]} label={t("member")}><Input style={{ width: 120 }} data-testid={`criterion-member-${step}-${item.name}`} /></Form.Item>
              <Form.Item name={[item.name, "location"]} label={t("location")}><Input style={{ width: 160 }} /></Form.Item>
              <Button type="link" onClick={() => remove(item.name)}>{t("remove")}</Button>
            </Space>
          ))}
          <Button size="small" onClick={() => add({ kind: "coating", design_um: 150, coats: 2 })} data-testid={`add-criterion-${step}`}>{t("addCriterion")}</Button>
        </Space>
      )}
    </Form.List>
  );
}

export default function PlanEditor() {
  const { ticketId = "" } = useParams();
  const { t, lang } = useI18n();
  const [form] = Form.useForm<Fields>();
  const [ticket, setTicket] = useState<Ticket>();
  const [latest, setLatest] = useState<RepairPlan>();
  const [technicians, setTechnicians] = useState<Technician[]>([]);
  const [proposed, setProposed] = useState<RepairPlan>();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [callId, setCallId] = useState(() => requestId("plan"));
  useEffect(() => {
    Promise.all([intake.getTicket({ ticketId }), repair.listPlans({ ticketId }), dispatch.listTechnicians({ pageSize: 500 })])
      .then(([tk, plans, team]) => {
        setTicket(tk.ticket);
        const last = plans.plans.at(-1);
        setLatest(last);
        setTechnicians(team.technicians);
        form.setFieldsValue({ content: fields(last?.content) });
      })
      .catch((err) => setError(showError(err, undefined, t)));
  }, [ticketId, form, t]);

  const submit = async (v: Fields) => {
    setError("");
    if (v.content?.cost_estimate && fen(v.content.cost_estimate) === undefined) {
      form.setFields([{ name: ["content", "cost_estimate"], errors: [t("moneyFormat")] }]);
      return;
    }
    setBusy(true);
    try {
      const r = await repair.proposePlan({ requestId: callId, ticketId, content: content(v.content, latest?.content?.costEstimate?.currencyCode || "CNY"), revisionReason: v.revision_reason ?? "" });
      setProposed(r.plan);
      setCallId(requestId("plan"));
    } catch (err) {
      setError(showError(err, form, t));
    } finally {
      setBusy(false);
    }
  };
  if (proposed)
    return (
      <Card title={`${t("planSubmitted")} · ${t("version")} ${proposed.version}`} data-testid="plan-submitted" extra={<Link to={`/tickets/${ticketId}`}>{ticket?.acceptanceNumber}</Link>}>
        <PlanDetails plan={proposed} previous={latest} />
      </Card>
    );
  return (
    <Card title={<Space>{latest ? t("revisePlan") : t("writePlan")}<Link to={`/tickets/${ticketId}`}>{ticket?.acceptanceNumber}</Link></Space>}>
      <ErrorAlert message={error} />
      {ticket && <Alert type="info" showIcon message={ticket.description?.phenomenon} style={{ marginBottom: 12 }} />}
      <Form form={form} layout="vertical" onFinish={submit} onValuesChange={clearEdited(form)} data-testid="plan-form">
        {latest && (
          <Form.Item name="revision_reason" label={t("revisionReasonLabel")} rules={[{ required: true, message: t("required") }]}>
            <Input.TextArea rows={2} data-testid="plan-revision-reason" />
          </Form.Item>
        )}
        <Form.Item name={["content", "objective"]} label={t("objective")}><Input.TextArea rows={2} data-testid="plan-objective" /></Form.Item>
        <Space wrap align="end">
          <Form.Item name={["content", "scope"]} label={t("scope")} style={{ minWidth: 320 }}><Input data-testid="plan-scope" /></Form.Item>
          <Form.Item name={["content", "structural_scope"]} label={t("structuralScope")} valuePropName="checked"><Switch /></Form.Item>
        </Space>
        <Form.Item name={["content", "methods"]} label={t("methods")}><Input.TextArea rows={2} data-testid="plan-methods" /></Form.Item>
        <Typography.Title level={5}>{t("steps")}</Typography.Title>
        <Form.List name={["content", "steps"]}>
          {(steps, { add, remove }) => (
            <Space direction="vertical" style={{ width: "100%" }}>
              {steps.map((s) => (
                <Card key={s.key} size="small" type="inner" title={`${t("step")} ${s.name + 1}`} extra={<Button type="link" onClick={() => remove(s.name)}>{t("remove")}</Button>}>
                  <Space wrap align="end">
                    <Form.Item name={[s.name, "description"]} label={t("stepDescription")} style={{ minWidth: 360 }}><Input data-testid={`step-description-${s.name}`} /></Form.Item>
                    <Form.Item name={[s.name, "key_step"]} label={t("keyStep")} valuePropName="checked"><Switch data-testid={`step-key-${s.name}`} /></Form.Item>
                  </Space>
                  <Typography.Text type="secondary">{t("qualityCriteria")}</Typography.Text>
                  <Criteria step={s.name} />
                </Card>
              ))}
              <Button onClick={() => add({ key_step: false })} data-testid="add-step">{t("addStep")}</Button>
            </Space>
          )}
        </Form.List>
        <Typography.Title level={5} style={{ marginTop: 16 }}>{t("materials")}</Typography.Title>
        <Form.List name={["content", "materials"]}>
          {(items, { add, remove }) => (
            <Space direction="vertical" style={{ width: "100%" }}>
              {items.map((m) => (
                <Space key={m.key} wrap align="end">
                  <Form.Item name={[m.name, "name"]} label={t("materialName")}><Input data-testid={`material-name-${m.name}`} /></Form.Item>
                  <Form.Item name={[m.name, "quantity"]} label={t("materialQuantity")}><Input style={{ width: 120 }} data-testid={`material-quantity-${m.name}`} /></Form.Item>
                  <Form.Item name={[m.name, "certificate_refs"]} label={t("certificateRefs")}><Input style={{ width: 260 }} data-testid={`material-certificates-${m.name}`} /></Form.Item>
                  <Button type="link" onClick={() => remove(m.name)}>{t("remove")}</Button>
                </Space>
              ))}
              <Button onClick={() => add({})} data-testid="add-material">{t("addMaterial")}</Button>
            </Space>
          )}
        </Form.List>
        <Form.Item name={["content", "safety_measures"]} label={t("safetyMeasures")} extra={t("onePerLine")} style={{ marginTop: 16 }}><Input.TextArea rows={2} data-testid="plan-safety" /></Form.Item>
        <Space wrap>
          <Form.Item name={["content", "schedule", "start_time"]} label={t("scheduleStart")}><Input type="datetime-local" data-testid="plan-start" /></Form.Item>
          <Form.Item name={["content", "schedule", "end_time"]} label={t("scheduleEnd")}><Input type="datetime-local" data-testid="plan-end" /></Form.Item>
        </Space>
        <Form.Item name={["content", "crew_technician_ids"]} label={t("crew")}>
          <Select
            mode="multiple"
            data-testid="plan-crew-select"
            optionFilterProp="label"
            options={technicians.map((x) => ({ value: x.technicianId, label: `${x.person?.displayName || x.technicianId} · ${x.team}` }))}
          />
        </Form.Item>
        <Form.Item name={["content", "equipment"]} label={t("equipment")} extra={t("onePerLine")}><Input.TextArea rows={2} /></Form.Item>
        <Space wrap align="end">
          <Form.Item name={["content", "cost_estimate"]} label={t("costEstimateCny")}><Input inputMode="decimal" style={{ width: 180 }} data-testid="plan-cost" /></Form.Item>
          <Form.Item name={["content", "expected_bearer"]} label={t("expectedBearer")}>
            <Select style={{ width: 180 }} allowClear data-testid="plan-bearer" options={enumValues("CostBearer").map((v) => ({ value: v, label: enumLabel(lang, "CostBearer", v) }))} />
          </Form.Item>
        </Space>
        <Form.Item name={["content", "expected_effect"]} label={t("expectedEffect")}><Input data-testid="plan-effect" /></Form.Item>
        <Form.Item name={["content", "disruption"]} label={t("disruption")}><Input data-testid="plan-disruption" /></Form.Item>
        <Button type="primary" htmlType="submit" size="large" loading={busy} data-testid="submit-plan">{t("submitPlan")}</Button>
      </Form>
      {ticketId && <SimilarCases ticketId={ticketId} />}
    </Card>
  );
}
