// Administration: the service team (technicians with skills, certificates and instruments, a
// certificate or a calibration running out flagged, availability and leave), warranty terms per
// project, the return-visit policy per customer, and the people directory with their roles.
// Everything goes through the public API with the signed-in person's rights; what the server
// refuses is shown at the field.
import { useCallback, useEffect, useState } from "react";
import { Alert, Button, Card, Form, Input, InputNumber, Select, Space, Switch, Table, Tabs, Tag } from "antd";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Date as PbDate } from "../gen/steelcare/common/v1/common_pb";
import type { Technician } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import type { Customer, Project } from "../gen/steelcare/intake/v1/intake_service_pb";
import type { Person } from "../gen/steelcare/identity/v1/identity_service_pb";
import { dispatch, feedback, intake, people } from "../api";
import { enumLabel, enumValues, useI18n, type EnumName } from "../i18n";
import { ErrorAlert, clearEdited, showError } from "../components";
import { dayText, localInput, toDate } from "../time";
import { calendarDate } from "../measure";
import Onboarding from "./Onboarding";
import DeadLetters from "./DeadLetters";

const DAY = 86_400_000;

/** A date that runs out: red once past, orange within 30 days. */
function Expiry({ label, until, testId }: { label: string; until?: PbDate; testId: string }) {
  const { t } = useI18n();
  const text = dayText(until);
  const left = until ? new Date(text).getTime() - Date.now() : Infinity;
  const color = left < 0 ? "red" : left < 30 * DAY ? "orange" : undefined;
  return (
    <Tag color={color} data-testid={testId} data-state={left < 0 ? "expired" : left < 30 * DAY ? "soon" : "valid"}>
      {label} · {text}{left < 0 ? ` · ${t("expired")}` : left < 30 * DAY ? ` · ${t("expiresSoon")}` : ""}
    </Tag>
  );
}

const options = (name: EnumName, lang: "zh" | "en") => enumValues(name).map((v) => ({ value: v, label: enumLabel(lang, name, v) }));

interface TechnicianFields {
  technician?: {
    technician_id?: string;
    person?: { display_name?: string; phone?: string };
    team?: string;
    regions?: string;
    skills?: number[];
    capacity?: number;
    calendar?: string;
    status?: number;
    certificates?: { kind?: string; number?: string; issuer?: string; valid_until?: string }[];
    instruments?: { kind?: number; serial_number?: string; calibration_valid_until?: string }[];
    leave_periods?: { start_time?: string; end_time?: string }[];
  };
}

function fieldsOf(x?: Technician): TechnicianFields {
  if (!x) return { technician: { capacity: 2, calendar: "business", certificates: [], instruments: [], leave_periods: [] } };
  return {
    technician: {
      technician_id: x.technicianId,
      person: { display_name: x.person?.displayName, phone: x.person?.phone },
      team: x.team,
      regions: x.regions.join(", "),
      skills: x.skills,
      capacity: x.capacity,
      calendar: x.calendar,
      status: x.status || undefined,
      certificates: x.certificates.map((c) => ({ kind: c.kind, number: c.number, issuer: c.issuer, valid_until: dayText(c.validUntil) })),
      instruments: x.instruments.map((i) => ({ kind: i.kind, serial_number: i.serialNumber, calibration_valid_until: dayText(i.calibrationValidUntil) })),
      leave_periods: x.leavePeriods.map((l) => ({ start_time: localInput(toDate(l.startTime)), end_time: localInput(toDate(l.endTime)) })),
    },
  };
}

function TechnicianForm({ editing, onSaved }: { editing?: Technician; onSaved: () => void }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<TechnicianFields>();
  const [error, setError] = useState("");
  useEffect(() => form.setFieldsValue(fieldsOf(editing)), [editing, form]);
  const save = async (v: TechnicianFields) => {
    const x = v.technician ?? {};
    setError("");
    try {
      await dispatch.upsertTechnician({
        technician: {
          technicianId: x.technician_id ?? "",
          person: { displayName: x.person?.display_name ?? "", phone: x.person?.phone ?? "" },
          team: x.team ?? "",
          regions: (x.regions ?? "").split(/[,，]/).map((r) => r.trim()).filter(Boolean),
          skills: x.skills ?? [],
          capacity: x.capacity ?? 0,
          calendar: x.calendar ?? "",
          status: x.status ?? 0,
          certificates: (x.certificates ?? []).map((c) => ({ kind: c.kind ?? "", number: c.number ?? "", issuer: c.issuer ?? "", validUntil: calendarDate(c.valid_until) })),
          instruments: (x.instruments ?? []).map((i) => ({ kind: i.kind ?? 0, serialNumber: i.serial_number ?? "", calibrationValidUntil: calendarDate(i.calibration_valid_until) })),
          leavePeriods: (x.leave_periods ?? []).map((l) => ({
            startTime: l.start_time ? timestampFromDate(new Date(l.start_time)) : undefined,
            endTime: l.end_time ? timestampFromDate(new Date(l.end_time)) : undefined,
          })),
        },
      });
      onSaved();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const list = (name: string, add: string, testId: string, row: (n: number) => React.ReactNode) => (
    <Form.List name={["technician", name]}>
      {(items, ops) => (
        <Space direction="vertical" style={{ width: "100%" }}>
          {items.map((item) => (
            <Space key={item.key} wrap align="end">
              {row(item.name)}
              <Button type="link" onClick={() => ops.remove(item.name)}>{t("remove")}</Button>
            </Space>
          ))}
          <Button size="small" onClick={() => ops.add({})} data-testid={testId}>{add}</Button>
        </Space>
      )}
    </Form.List>
  );
  return (
    <Card size="small" title={editing ? `${t("edit")} · ${editing.person?.displayName}` : t("addTechnician")} data-testid="technician-form">
      <ErrorAlert message={error} />
      <Form form={form} layout="vertical" onFinish={save} onValuesChange={clearEdited(form)}>
        <Space wrap>
          <Form.Item name={["technician", "technician_id"]} label={t("technicianId")}><Input disabled={!!editing} data-testid="tech-id" /></Form.Item>
          <Form.Item name={["technician", "person", "display_name"]} label={t("name")}><Input data-testid="tech-name" /></Form.Item>
          <Form.Item name={["technician", "person", "phone"]} label={t("phone")}><Input data-testid="tech-phone" /></Form.Item>
          <Form.Item name={["technician", "team"]} label={t("team")}><Input /></Form.Item>
          <Form.Item name={["technician", "regions"]} label={t("regions")}><Input style={{ width: 240 }} data-testid="tech-regions" /></Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name={["technician", "skills"]} label={t("skills")}><Select mode="multiple" style={{ minWidth: 320 }} options={options("Skill", lang)} data-testid="tech-skills" /></Form.Item>
          <Form.Item name={["technician", "capacity"]} label={t("capacity")}><InputNumber min={1} /></Form.Item>
          <Form.Item name={["technician", "calendar"]} label={t("workCalendar")}>
            <Select style={{ width: 160 }} options={[{ value: "business", label: t("calendarBusiness") }, { value: "round_the_clock", label: t("calendarRoundTheClock") }]} />
          </Form.Item>
          <Form.Item name={["technician", "status"]} label={t("status")}><Select style={{ width: 140 }} options={options("TechnicianStatus", lang)} /></Form.Item>
        </Space>
        <Form.Item label={t("certificates")}>
          {list("certificates", t("addCertificate"), "tech-add-certificate", (n) => (
            <>
              <Form.Item name={[n, "kind"]} noStyle><Input placeholder={t("certificateKind")} style={{ width: 160 }} data-testid={`tech-cert-kind-${n}`} /></Form.Item>
              <Form.Item name={[n, "number"]} noStyle><Input placeholder={t("certificateNumber")} style={{ width: 160 }} data-testid={`tech-cert-number-${n}`} /></Form.Item>
              <Form.Item name={[n, "issuer"]} noStyle><Input placeholder={t("issuer")} style={{ width: 200 }} /></Form.Item>
              <Form.Item name={[n, "valid_until"]} noStyle><Input type="date" style={{ width: 160 }} data-testid={`tech-cert-until-${n}`} /></Form.Item>
            </>
          ))}
        </Form.Item>
        <Form.Item label={t("instruments")}>
          {list("instruments", t("addInstrument"), "tech-add-instrument", (n) => (
            <>
              <Form.Item name={[n, "kind"]} noStyle><Select placeholder={t("instrument")} style={{ width: 220 }} options={options("InstrumentKind", lang)} data-testid={`tech-inst-kind-${n}`} /></Form.Item>
              <Form.Item name={[n, "serial_number"]} noStyle><Input placeholder={t("serialNumber")} style={{ width: 160 }} data-testid={`tech-inst-serial-${n}`} /></Form.Item>
              <Form.Item name={[n, "calibration_valid_until"]} noStyle><Input type="date" style={{ width: 160 }} data-testid={`tech-inst-until-${n}`} /></Form.Item>
            </>
          ))}
        </Form.Item>
        <Form.Item label={t("leavePeriods")}>
          {list("leave_periods", t("addLeave"), "tech-add-leave", (n) => (
            <>
              <Form.Item name={[n, "start_time"]} noStyle><Input type="datetime-local" /></Form.Item>
              <Form.Item name={[n, "end_time"]} noStyle><Input type="datetime-local" /></Form.Item>
            </>
          ))}
        </Form.Item>
        <Button type="primary" htmlType="submit" data-testid="tech-save">{t("save")}</Button>
      </Form>
    </Card>
  );
}

function Technicians() {
  const { t, lang } = useI18n();
  const [rows, setRows] = useState<Technician[]>([]);
  const [editing, setEditing] = useState<Technician>();
  const [adding, setAdding] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    dispatch.listTechnicians({ pageSize: 500 }).then((r) => setRows(r.technicians)).catch((err) => setError(showError(err, undefined, t)));
  }, [t]);
  useEffect(load, [load]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      {saved && <Alert type="success" showIcon message={t("saved")} data-testid="tech-saved" />}
      <Table<Technician>
        size="small"
        scroll={{ x: 900 }}
        rowKey="technicianId"
        pagination={false}
        dataSource={rows}
        data-testid="technicians"
        columns={[
          { title: t("name"), render: (_, x) => <span data-testid="tech-row-name">{x.person?.displayName || x.technicianId}</span> },
          { title: t("team"), dataIndex: "team" },
          { title: t("status"), render: (_, x) => enumLabel(lang, "TechnicianStatus", x.status) },
          { title: t("skills"), render: (_, x) => x.skills.map((s) => enumLabel(lang, "Skill", s)).join(", ") },
          { title: t("certificates"), render: (_, x) => x.certificates.map((c, i) => <Expiry key={i} label={c.kind} until={c.validUntil} testId="tech-certificate" />) },
          { title: t("instruments"), render: (_, x) => x.instruments.map((c, i) => <Expiry key={i} label={`${enumLabel(lang, "InstrumentKind", c.kind)} ${c.serialNumber}`} until={c.calibrationValidUntil} testId="tech-instrument" />) },
          { title: t("leavePeriods"), render: (_, x) => x.leavePeriods.length },
          { title: "", render: (_, x) => <Button size="small" onClick={() => { setAdding(false); setEditing(x); setSaved(false); }} data-testid="tech-edit">{t("edit")}</Button> },
        ]}
      />
      <Button onClick={() => { setEditing(undefined); setAdding(true); setSaved(false); }} data-testid="tech-add">{t("addTechnician")}</Button>
      {(adding || editing) && (
        <TechnicianForm
          editing={editing}
          onSaved={() => {
            setSaved(true);
            setAdding(false);
            setEditing(undefined);
            load();
          }}
        />
      )}
    </Space>
  );
}

interface TermFields {
  project_id?: string;
  warranty_terms?: { scope?: number; months?: number; start_date?: string; note?: string }[];
}

function WarrantyTerms() {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<TermFields>();
  const [projects, setProjects] = useState<Project[]>([]);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    intake.listProjects({ pageSize: 500 }).then((r) => setProjects(r.projects)).catch((err) => setError(showError(err, undefined, t)));
  }, [t]);
  const pick = (projectId: string) => {
    const p = projects.find((x) => x.projectId === projectId);
    setSaved(false);
    form.setFieldsValue({ project_id: projectId, warranty_terms: (p?.warrantyTerms ?? []).map((w) => ({ scope: w.scope, months: w.months, start_date: dayText(w.startDate), note: w.note })) });
  };
  const save = async (v: TermFields) => {
    setError("");
    try {
      const r = await intake.setWarrantyTerms({
        projectId: v.project_id ?? "",
        warrantyTerms: (v.warranty_terms ?? []).map((w) => ({ scope: w.scope ?? 0, months: w.months ?? 0, startDate: calendarDate(w.start_date), note: w.note ?? "" })),
      });
      setProjects((old) => old.map((p) => (p.projectId === r.project?.projectId && r.project ? r.project : p)));
      setSaved(true);
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  return (
    <Form form={form} layout="vertical" onFinish={save} onValuesChange={clearEdited(form)}>
      <ErrorAlert message={error} />
      {saved && <Alert type="success" showIcon message={t("saved")} data-testid="terms-saved" style={{ marginBottom: 12 }} />}
      <Form.Item name="project_id" label={t("project")}>
        <Select showSearch optionFilterProp="label" style={{ maxWidth: 420 }} onChange={pick} data-testid="terms-project" options={projects.map((p) => ({ value: p.projectId, label: `${p.name} · ${p.contractNumber}` }))} />
      </Form.Item>
      <Form.List name="warranty_terms">
        {(items, ops) => (
          <Space direction="vertical" style={{ width: "100%" }}>
            {items.map((item) => (
              <Space key={item.key} wrap align="end">
                <Form.Item name={[item.name, "scope"]} label={t("scope")}><Select style={{ width: 220 }} options={options("WarrantyScope", lang)} data-testid={`term-scope-${item.name}`} /></Form.Item>
                <Form.Item name={[item.name, "months"]} label={t("months")}><InputNumber min={1} data-testid={`term-months-${item.name}`} /></Form.Item>
                <Form.Item name={[item.name, "start_date"]} label={t("startDate")}><Input type="date" /></Form.Item>
                <Form.Item name={[item.name, "note"]} label={t("note")}><Input style={{ width: 220 }} /></Form.Item>
                <Button type="link" onClick={() => ops.remove(item.name)} data-testid={`term-remove-${item.name}`}>{t("remove")}</Button>
              </Space>
            ))}
            <Button size="small" onClick={() => ops.add({})} data-testid="term-add">{t("addTerm")}</Button>
          </Space>
        )}
      </Form.List>
      <Button type="primary" htmlType="submit" style={{ marginTop: 12 }} data-testid="terms-save">{t("save")}</Button>
    </Form>
  );
}

function VisitPolicy() {
  const { t } = useI18n();
  const [customers, setCustomers] = useState<Customer[]>([]);
  const [customer, setCustomer] = useState("");
  const [offsets, setOffsets] = useState("");
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    intake.listCustomers({ pageSize: 500 }).then((r) => setCustomers(r.customers)).catch((err) => setError(showError(err, undefined, t)));
  }, [t]);
  const pick = async (customerId: string) => {
    setCustomer(customerId);
    setSaved(false);
    setError("");
    try {
      setOffsets((await feedback.getVisitPolicy({ customerId })).offsetMonths.join(", "));
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const save = async () => {
    setError("");
    try {
      const months = offsets.split(/[,，\s]+/).filter(Boolean).map(Number);
      await feedback.setVisitPolicy({ customerId: customer, offsetMonths: months });
      setSaved(true);
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Space direction="vertical" style={{ width: "100%", maxWidth: 520 }}>
      <ErrorAlert message={error} />
      {saved && <Alert type="success" showIcon message={t("saved")} data-testid="policy-saved" />}
      <Select showSearch optionFilterProp="label" placeholder={t("customer")} onChange={pick} data-testid="policy-customer" options={customers.map((c) => ({ value: c.customerId, label: c.organizationName }))} />
      <Input addonBefore={t("offsetMonths")} value={offsets} onChange={(e) => setOffsets(e.target.value)} disabled={!customer} data-testid="policy-offsets" />
      <Button type="primary" onClick={save} disabled={!customer} data-testid="policy-save">{t("save")}</Button>
    </Space>
  );
}

interface PersonFields {
  person?: { login?: string; display_name?: string; phone?: string; roles?: string[]; organization_id?: string; technician_id?: string };
  password?: string;
}

const ROLES = ["agent", "dispatcher", "technician", "engineer", "chief_engineer", "manager", "admin", "auditor", "customer"];

function People() {
  const { t } = useI18n();
  const [form] = Form.useForm<PersonFields>();
  const [rows, setRows] = useState<Person[]>([]);
  const [customers, setCustomers] = useState<Customer[]>([]);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    people.listPeople({ pageSize: 500 }).then((r) => setRows(r.people)).catch((err) => setError(showError(err, undefined, t)));
    intake.listCustomers({ pageSize: 500 }).then((r) => setCustomers(r.customers)).catch(() => setCustomers([]));
  }, [t]);
  useEffect(load, [load]);
  const add = async (v: PersonFields) => {
    setError("");
    try {
      const p = v.person ?? {};
      await people.createPerson({
        person: { login: p.login ?? "", displayName: p.display_name ?? "", phone: p.phone ?? "", roles: p.roles ?? [], organizationId: p.organization_id ?? "", technicianId: p.technician_id ?? "", enabled: true },
        password: v.password ?? "",
      });
      form.resetFields();
      load();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const enable = async (p: Person, enabled: boolean) => {
    try {
      await people.setPersonEnabled({ personId: p.personId, enabled });
      load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const orgName = (id: string) => customers.find((c) => c.customerId === id)?.organizationName ?? id;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Table<Person>
        size="small"
        scroll={{ x: 720 }}
        rowKey="personId"
        pagination={false}
        dataSource={rows}
        data-testid="people"
        columns={[
          { title: t("login"), dataIndex: "login" },
          { title: t("name"), dataIndex: "displayName" },
          { title: t("roles"), render: (_, p) => p.roles.join(", ") },
          { title: t("customerOrganization"), render: (_, p) => (p.organizationId ? orgName(p.organizationId) : "") },
          { title: t("enabled"), render: (_, p) => <Switch checked={p.enabled} onChange={(on) => void enable(p, on)} data-testid={`person-enabled-${p.login}`} /> },
        ]}
      />
      <Card size="small" title={t("addPerson")}>
        <Form form={form} layout="vertical" onFinish={add} onValuesChange={clearEdited(form)}>
          <Space wrap>
            <Form.Item name={["person", "login"]} label={t("login")}><Input data-testid="person-login" /></Form.Item>
            <Form.Item name={["person", "display_name"]} label={t("name")}><Input data-testid="person-name" /></Form.Item>
            <Form.Item name={["person", "phone"]} label={t("phone")}><Input /></Form.Item>
            <Form.Item name={["person", "roles"]} label={t("roles")}><Select mode="multiple" style={{ minWidth: 240 }} options={ROLES.map((r) => ({ value: r, label: r }))} data-testid="person-roles" /></Form.Item>
            <Form.Item name={["person", "organization_id"]} label={t("customerOrganization")}>
              <Select allowClear style={{ minWidth: 200 }} options={customers.map((c) => ({ value: c.customerId, label: c.organizationName }))} />
            </Form.Item>
            <Form.Item name={["person", "technician_id"]} label={t("technicianId")}><Input /></Form.Item>
            <Form.Item name="password" label={t("initialPassword")}><Input.Password data-testid="person-password" /></Form.Item>
          </Space>
          <Button type="primary" htmlType="submit" data-testid="person-add">{t("addPerson")}</Button>
        </Form>
      </Card>
    </Space>
  );
}

export default function Admin() {
  const { t } = useI18n();
  return (
    <Card title={t("administration")}>
      <Tabs
        items={[
          { key: "technicians", label: t("techniciansAdmin"), children: <Technicians /> },
          { key: "terms", label: t("warrantyTerms"), children: <WarrantyTerms /> },
          { key: "visits", label: t("visitPolicy"), children: <VisitPolicy /> },
          { key: "people", label: t("people"), children: <People /> },
          { key: "onboarding", label: <span data-testid="tab-onboarding">{t("onboarding")}</span>, children: <Onboarding /> },
          { key: "dead-letters", label: <span data-testid="tab-dead-letters">{t("failedNotifications")}</span>, children: <DeadLetters /> },
        ]}
      />
    </Card>
  );
}
