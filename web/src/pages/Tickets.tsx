// Tickets, filtered as ListTickets filters them: states, tiers, categories, SLA status,
// project, customer and creation time. A customer sees its own organisation's only (the API
// decides).
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { Button, Card, DatePicker, Form, Select, Space, Table } from "antd";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Customer, Project, Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { intake } from "../api";
import { enumLabel, enumValues, useI18n, type EnumName } from "../i18n";
import type { Dayjs } from "dayjs";
import { EnumTag, ErrorAlert, Time, clearEdited, showError } from "../components";
import { hasRole, useSession } from "../session";
import { inZone } from "../time";

interface Filters {
  states?: number[];
  tiers?: number[];
  categories?: number[];
  sla_status?: number;
  project_id?: string;
  customer_id?: string;
  create_time_range?: [Dayjs, Dayjs];
}

export default function Tickets() {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<Filters>();
  const [rows, setRows] = useState<Ticket[]>([]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  const session = useSession();
  const { timeZone } = session;
  const staff = !hasRole(session, "customer");
  // Customers and projects by name, for the filters and the table.
  const [customers, setCustomers] = useState<Customer[]>([]);
  const [projects, setProjects] = useState<Project[]>([]);
  useEffect(() => {
    intake.listProjects({ pageSize: 500 }).then((r) => setProjects(r.projects)).catch((err) => setError(showError(err, undefined, t)));
    if (staff) intake.listCustomers({ pageSize: 500 }).then((r) => setCustomers(r.customers)).catch((err) => setError(showError(err, undefined, t)));
  }, [staff, t]);
  const projectName = (id: string) => projects.find((p) => p.projectId === id)?.name ?? id;

  const load = useCallback(async (pageToken: string) => {
    setError("");
    setLoading(true);
    const f = form.getFieldsValue();
    try {
      const r = await intake.listTickets({
        pageSize: 50,
        pageToken,
        states: f.states ?? [],
        tiers: f.tiers ?? [],
        categories: f.categories ?? [],
        slaStatus: f.sla_status ?? 0,
        projectId: f.project_id ?? "",
        customerId: f.customer_id ?? "",
        createTimeRange: f.create_time_range
          ? { startTime: timestampFromDate(inZone(f.create_time_range[0], timeZone)), endTime: timestampFromDate(inZone(f.create_time_range[1], timeZone)) }
          : undefined,
      });
      setRows((old) => (pageToken ? [...old, ...r.tickets] : r.tickets));
      setNext(r.nextPageToken);
    } catch (err) {
      setError(showError(err, form, t));
    } finally {
      setLoading(false);
    }
  }, [form, t, timeZone]);

  useEffect(() => { void load(""); }, [load]);

  const options = (name: EnumName) => enumValues(name).map((v) => ({ value: v, label: enumLabel(lang, name, v) }));
  return (
    <Card title={t("tickets")}>
      <ErrorAlert message={error} />
      <Form form={form} layout="inline" onFinish={() => load("")} onValuesChange={clearEdited(form)} style={{ marginBottom: 16, rowGap: 8 }}>
        <Form.Item name="states" label={t("state")}><Select mode="multiple" allowClear style={{ minWidth: 160 }} options={options("CaseState")} data-testid="filter-states" /></Form.Item>
        <Form.Item name="tiers" label={t("tier")}><Select mode="multiple" allowClear style={{ minWidth: 120 }} options={options("SeverityTier")} /></Form.Item>
        <Form.Item name="categories" label={t("category")}><Select mode="multiple" allowClear style={{ minWidth: 140 }} options={options("ProblemCategory")} /></Form.Item>
        <Form.Item name="sla_status" label={t("sla")}><Select allowClear style={{ minWidth: 110 }} options={options("SlaStatus")} /></Form.Item>
        <Form.Item name="project_id" label={t("project")}>
          <Select allowClear showSearch optionFilterProp="label" style={{ minWidth: 200 }} data-testid="filter-project" options={projects.map((p) => ({ value: p.projectId, label: p.name }))} />
        </Form.Item>
        {staff && (
          <Form.Item name="customer_id" label={t("customer")}>
            <Select allowClear showSearch optionFilterProp="label" style={{ minWidth: 200 }} data-testid="filter-customer" options={customers.map((c) => ({ value: c.customerId, label: c.organizationName }))} />
          </Form.Item>
        )}
        <Form.Item name="create_time_range" label={t("created")}><DatePicker.RangePicker showTime /></Form.Item>
        <Button type="primary" htmlType="submit" data-testid="search">{t("search")}</Button>
      </Form>
      <Table<Ticket>
        scroll={{ x: 720 }}
        rowKey="ticketId"
        loading={loading}
        dataSource={rows}
        pagination={false}
        data-testid="tickets"
        columns={[
          { title: t("acceptanceNumber"), render: (_, r) => <Link to={`/tickets/${r.ticketId}`}>{r.acceptanceNumber}</Link> },
          { title: t("state"), render: (_, r) => <EnumTag name="CaseState" value={r.state} /> },
          { title: t("tier"), render: (_, r) => <EnumTag name="SeverityTier" value={r.tier} /> },
          { title: t("category"), render: (_, r) => <EnumTag name="ProblemCategory" value={r.category} /> },
          { title: t("sla"), render: (_, r) => <EnumTag name="SlaStatus" value={r.slaStatus} /> },
          { title: t("project"), render: (_, r) => projectName(r.projectId) },
          { title: t("phenomenon"), render: (_, r) => r.description?.phenomenon },
          { title: t("created"), render: (_, r) => <Time value={r.createTime} /> },
        ]}
      />
      {next && <Space style={{ marginTop: 12 }}><Button onClick={() => load(next)}>{t("more")}</Button></Space>}
    </Card>
  );
}
