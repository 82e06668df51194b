// The call desk: register a customer and project, take a call into a ticket, show the
// suggested category and tier with the words that matched, read back, attach photos, and the
// reply the customer gets.
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { Button, Card, Col, Collapse, DatePicker, Descriptions, Form, Input, List, Row, Select, Space, Tag, Typography, Upload } from "antd";
import type { Project } from "../gen/steelcare/intake/v1/intake_service_pb";
import { Channel, StructureType, type Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { intake, requestId } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { EnumTag, ErrorAlert, Time, clearEdited, showError } from "../components";
import { hasRole, useSession } from "../session";
import { SimilarCases } from "../experience";

function RegisterForms({ onProject }: { onProject: (p: Project) => void }) {
  const { t, lang } = useI18n();
  const [customerForm] = Form.useForm();
  const [projectForm] = Form.useForm();
  const [customerId, setCustomerId] = useState("");
  const [error, setError] = useState("");
  const [ids, setIds] = useState(() => ({ customer: requestId("customer"), project: requestId("project") }));
  const createCustomer = async (v: { organization_name?: string; contacts?: { display_name?: string; phone?: string }[] }) => {
    const contact = v.contacts?.[0];
    setError("");
    try {
      const { customer } = await intake.createCustomer({
        requestId: ids.customer,
        organizationName: v.organization_name ?? "",
        contacts: [{ displayName: contact?.display_name ?? "", phone: contact?.phone ?? "" }],
      });
      setCustomerId(customer?.customerId ?? "");
    } catch (err) {
      setError(showError(err, customerForm, t));
    }
  };
  const registerProject = async (v: {
    name?: string;
    address?: { city?: string };
    contract_number?: string;
    structure_type?: StructureType;
    completion_acceptance_date?: { year(): number; month(): number; date(): number };
  }) => {
    const completion = v.completion_acceptance_date;
    setError("");
    try {
      const { project } = await intake.registerProject({
        requestId: ids.project,
        customerId,
        name: v.name ?? "",
        address: { city: v.address?.city ?? "" },
        contractNumber: v.contract_number ?? "",
        structureType: v.structure_type ?? StructureType.UNSPECIFIED,
        completionAcceptanceDate: completion ? { year: completion.year(), month: completion.month() + 1, day: completion.date() } : undefined,
      });
      if (project) onProject(project);
      setIds({ customer: requestId("customer"), project: requestId("project") });
      setCustomerId("");
      customerForm.resetFields();
      projectForm.resetFields();
    } catch (err) {
      setError(showError(err, projectForm, t));
    }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Form form={customerForm} layout="vertical" onFinish={createCustomer} onValuesChange={clearEdited(customerForm)} disabled={!!customerId}>
        <Form.Item label={t("organization")} name="organization_name"><Input data-testid="organization" /></Form.Item>
        <Space>
          <Form.Item label={t("contactName")} name={["contacts", 0, "display_name"]}><Input data-testid="contact-name" /></Form.Item>
          <Form.Item label={t("phone")} name={["contacts", 0, "phone"]}><Input data-testid="contact-phone" /></Form.Item>
        </Space>
        <Button htmlType="submit" data-testid="register-customer">{t("newCustomer")}</Button>
        {customerId && <Tag color="green" style={{ marginLeft: 8 }}>{customerId}</Tag>}
      </Form>
      {customerId && (
        <Form form={projectForm} layout="vertical" onFinish={registerProject} onValuesChange={clearEdited(projectForm)}>
          <Form.Item label={t("projectName")} name="name"><Input data-testid="project-name" /></Form.Item>
          <Space wrap>
            <Form.Item label={t("city")} name={["address", "city"]}><Input data-testid="project-city" /></Form.Item>
            <Form.Item label={t("contract")} name="contract_number"><Input data-testid="contract" /></Form.Item>
          </Space>
          <Space wrap>
            <Form.Item label={t("structureType")} name="structure_type" initialValue={StructureType.PORTAL_FRAME}>
              <Select style={{ width: 180 }} options={enumValues("StructureType").map((v) => ({ value: v, label: enumLabel(lang, "StructureType", v) }))} />
            </Form.Item>
            <Form.Item label={t("completionDate")} name="completion_acceptance_date"><DatePicker data-testid="completion" /></Form.Item>
          </Space>
          <Button htmlType="submit" type="primary" data-testid="register-project">{t("newProject")}</Button>
        </Form>
      )}
    </Space>
  );
}

function TicketResult({ ticket, onChange }: { ticket: Ticket; onChange: (t: Ticket) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm();
  const [error, setError] = useState("");
  const readback = async (v: { readback_text: string }) => {
    setError("");
    try {
      const r = await intake.confirmReadback({ ticketId: ticket.ticketId, readbackText: v.readback_text ?? "" });
      if (r.ticket) onChange(r.ticket);
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const upload = async (file: File) => {
    setError("");
    try {
      await intake.attachFile({
        metadata: { ticketId: ticket.ticketId, fileName: file.name, contentType: file.type || "application/octet-stream", caption: "" },
        content: new Uint8Array(await file.arrayBuffer()),
      });
      const r = await intake.getTicket({ ticketId: ticket.ticketId });
      if (r.ticket) onChange(r.ticket);
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const defaultReadback = [ticket.location?.description, ticket.description?.phenomenon, ticket.customerRequest].filter(Boolean).join("；");
  return (
    <Card title={<span data-testid="acceptance-number">{ticket.acceptanceNumber}</span>} extra={<Link to={`/tickets/${ticket.ticketId}`} data-testid="open-case">{t("open")}</Link>}>
      <ErrorAlert message={error} />
      <Descriptions column={1} size="small" bordered>
        <Descriptions.Item label={t("suggestion")}>
          <Space wrap data-testid="suggestion">
            <EnumTag name="ProblemCategory" value={ticket.suggestion?.category ?? 0} color="geekblue" />
            <EnumTag name="SeverityTier" value={ticket.suggestion?.tier ?? 0} color="volcano" />
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label={t("matchedWords")}>
          <Space wrap data-testid="matched-words">{ticket.suggestion?.matchedTerms.map((w) => <Tag key={w}>{w}</Tag>)}</Space>
        </Descriptions.Item>
        <Descriptions.Item label={t("warranty")}>{ticket.warranty?.inWarranty ? t("inWarranty") : t("outOfWarranty")}</Descriptions.Item>
        <Descriptions.Item label={t("responseDeadline")}><Time value={ticket.reply?.responseDeadlineTime} /></Descriptions.Item>
      </Descriptions>
      <Typography.Title level={5} style={{ marginTop: 16 }}>{t("customerReply")}</Typography.Title>
      <div data-testid="reply">
        <Typography.Paragraph>{t("acceptanceNumber")}: <b>{ticket.reply?.acceptanceNumber}</b></Typography.Paragraph>
        <List size="small" header={t("nextSteps")} dataSource={ticket.reply?.nextSteps ?? []} renderItem={(s) => <List.Item>{s}</List.Item>} />
        <List size="small" header={t("customerActions")} dataSource={ticket.reply?.customerActions ?? []} renderItem={(s) => <List.Item>{s}</List.Item>} />
      </div>
      <Typography.Title level={5} style={{ marginTop: 16 }}>{t("readback")}</Typography.Title>
      {ticket.readbackConfirmTime ? (
        <Typography.Paragraph data-testid="readback-done">✓ {ticket.readbackText} (<Time value={ticket.readbackConfirmTime} />)</Typography.Paragraph>
      ) : (
        <Form form={form} onFinish={readback} onValuesChange={clearEdited(form)} initialValues={{ readback_text: defaultReadback }}>
          <Form.Item name="readback_text" label={t("readbackText")}><Input.TextArea rows={2} data-testid="readback-text" /></Form.Item>
          <Button htmlType="submit" data-testid="confirm-readback">{t("confirmReadback")}</Button>
        </Form>
      )}
      <Typography.Title level={5} style={{ marginTop: 16 }}>{t("photos")}</Typography.Title>
      <Upload accept="image/*" showUploadList={false} beforeUpload={(file) => { void upload(file); return false; }}>
        <Button data-testid="attach">{t("attach")}</Button>
      </Upload>
      <List size="small" dataSource={ticket.attachments} renderItem={(a) => <List.Item data-testid="attachment">{a.fileName} · {a.sizeBytes.toString()} B · sha256 {a.sha256.slice(0, 12)}…</List.Item>} />
    </Card>
  );
}

export default function CallDesk() {
  const { t, lang } = useI18n();
  // Staff register customers and projects; a customer reports on its own projects (the API
  // lists only those).
  const staff = hasRole(useSession(), "agent", "manager", "admin");
  const [projects, setProjects] = useState<Project[]>([]);
  const [form] = Form.useForm();
  const [error, setError] = useState("");
  const [ticket, setTicket] = useState<Ticket>();
  const [callId, setCallId] = useState(() => requestId("call"));
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    intake.listProjects({ pageSize: 200 }).then((r) => setProjects(r.projects)).catch((err) => setError(showError(err, undefined, t)));
  }, [t]);
  const create = async (v: Record<string, any>) => {
    setError("");
    setBusy(true);
    try {
      const r = await intake.createTicket({
        requestId: callId,
        channel: v.channel ?? Channel.HOTLINE,
        projectId: v.project_id ?? "",
        reporter: { displayName: v.reporter?.display_name ?? "", phone: v.reporter?.phone ?? "" },
        location: { description: v.location?.description ?? "", gridAxes: v.location?.grid_axes ?? "" },
        description: { phenomenon: v.description?.phenomenon ?? "", extent: v.description?.extent ?? "" },
        customerRequest: v.customer_request ?? "",
      });
      setTicket(r.ticket);
      // The next call starts from an empty form with a request id of its own; until then a
      // second click resends this one (the same ticket comes back).
      form.resetFields();
      setCallId(requestId("call"));
    } catch (err) {
      setError(showError(err, form, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Row gutter={24}>
      <Col xs={24} lg={12}>
        <Card title={staff ? t("takeCall") : t("reportProblem")}>
          <ErrorAlert message={error} />
          <Form form={form} layout="vertical" onFinish={create} onValuesChange={clearEdited(form)} initialValues={{ channel: staff ? Channel.HOTLINE : Channel.WEB_FORM }}>
            <Form.Item label={t("project")} name="project_id">
              <Select
                data-testid="project"
                showSearch
                optionFilterProp="label"
                options={projects.map((p) => ({ value: p.projectId, label: `${p.name} · ${p.contractNumber}` }))}
              />
            </Form.Item>
            <Form.Item label={t("channel")} name="channel">
              <Select data-testid="channel" options={enumValues("Channel").map((v) => ({ value: v, label: enumLabel(lang, "Channel", v) }))} />
            </Form.Item>
            <Space wrap>
              <Form.Item label={t("reporter")} name={["reporter", "display_name"]}><Input data-testid="reporter-name" /></Form.Item>
              <Form.Item label={t("phone")} name={["reporter", "phone"]}><Input data-testid="reporter-phone" /></Form.Item>
            </Space>
            <Space wrap>
              <Form.Item label={t("location")} name={["location", "description"]}><Input data-testid="location" /></Form.Item>
              <Form.Item label={t("gridAxes")} name={["location", "grid_axes"]}><Input /></Form.Item>
            </Space>
            <Form.Item label={t("phenomenon")} name={["description", "phenomenon"]}><Input.TextArea rows={3} data-testid="phenomenon" /></Form.Item>
            <Form.Item label={t("extent")} name={["description", "extent"]}><Input /></Form.Item>
            <Form.Item label={t("customerRequest")} name="customer_request"><Input /></Form.Item>
            <Button type="primary" htmlType="submit" loading={busy} data-testid="create-ticket">{t("createTicket")}</Button>
          </Form>
        </Card>
        {staff && <Collapse
          style={{ marginTop: 16 }}
          items={[{ key: "register", label: `${t("newCustomer")} / ${t("newProject")}`, children: <RegisterForms onProject={(p) => { setProjects((ps) => [p, ...ps]); form.setFieldValue("project_id", p.projectId); }} /> }]}
        />}
      </Col>
      <Col xs={24} lg={12}>
        {ticket && <TicketResult ticket={ticket} onChange={setTicket} />}
        {ticket && staff && <SimilarCases key={ticket.ticketId} ticketId={ticket.ticketId} />}
      </Col>
    </Row>
  );
}
