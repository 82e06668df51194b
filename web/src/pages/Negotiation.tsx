// Negotiation with the customer (MISSION §5.3), on the case page for the office: the record of
// communications, the customer's decision on the approved plan, and the handling agreement
// prepared for the customer to countersign in their own console (SignAgreement with
// await_customer_signature), with the cost bearing the server works out for the quote.
import { useCallback, useEffect, useState } from "react";
import { Alert, Button, Card, Descriptions, Form, Input, List, Select, Space, Typography } from "antd";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { CaseState, SignatureMethod, SignatureRole } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { PlanStatus, type Agreement, type Communication, type CostBearing, type CustomerDecision, type RepairPlan } from "../gen/steelcare/repair/v1/repair_service_pb";
import { Code, isCode, repair } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, fen, lines, money, showError, useOnce } from "../components";
import { hasRole, useSession } from "../session";
import { SignaturePad, storeSignature } from "../media";


interface TalkFields {
  channel?: number;
  occur_time?: string;
  participants?: string;
  summary?: string;
}

function Communications({ ticket }: { ticket: Ticket }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<TalkFields>();
  const once = useOnce();
  const [items, setItems] = useState<Communication[]>([]);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    repair.listCommunications({ ticketId: ticket.ticketId }).then((r) => setItems(r.communications)).catch((err) => setError(showError(err, undefined, t)));
  }, [ticket.ticketId, t]);
  useEffect(load, [load]);
  const record = async (v: TalkFields) => {
    try {
      await repair.recordCommunication({
        requestId: once("talk"),
        ticketId: ticket.ticketId,
        channel: v.channel ?? 0,
        occurTime: timestampFromDate(v.occur_time ? new Date(v.occur_time) : new Date()),
        participants: (v.participants ?? "").split(/[,，]/).map((s) => s.trim()).filter(Boolean).map((displayName) => ({ displayName })),
        summary: v.summary ?? "",
        attachmentIds: [],
      });
      once.renew("talk");
      form.resetFields();
      load();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  return (
    <Card size="small" title={t("communications")} data-testid="communications">
      <ErrorAlert message={error} />
      <List
        size="small"
        dataSource={items}
        locale={{ emptyText: t("nothing") }}
        renderItem={(c) => (
          <List.Item data-testid="communication">
            <Space direction="vertical" size={0}>
              <span><Time value={c.occurTime} /> · {enumLabel(lang, "CommunicationChannel", c.channel)} · {c.participants.map((p) => p.displayName).join(", ")}</span>
              <Typography.Text>{c.summary}</Typography.Text>
            </Space>
          </List.Item>
        )}
      />
      <Form form={form} layout="vertical" onFinish={record} onValuesChange={clearEdited(form)} style={{ marginTop: 12 }}>
        <Space wrap>
          <Form.Item name="channel" label={t("channelOfTalk")}>
            <Select style={{ width: 160 }} data-testid="talk-channel" options={enumValues("CommunicationChannel").map((v) => ({ value: v, label: enumLabel(lang, "CommunicationChannel", v) }))} />
          </Form.Item>
          <Form.Item name="occur_time" label={t("occurredAt")}><Input type="datetime-local" /></Form.Item>
          <Form.Item name="participants" label={t("participants")}><Input style={{ width: 280 }} data-testid="talk-participants" /></Form.Item>
        </Space>
        <Form.Item name="summary" label={t("summary")}><Input.TextArea rows={2} data-testid="talk-summary" /></Form.Item>
        <Button htmlType="submit" data-testid="record-communication">{t("recordCommunication")}</Button>
      </Form>
    </Card>
  );
}

interface AgreementFields {
  contractor_obligations?: string;
  customer_obligations?: string;
  acceptance_terms?: string;
  quoted?: string;
  representative?: string;
}

/** The agreement prepared for the customer: terms, the quote with the bearing worked out, the
 * contractor representative's drawn signature. */
function PrepareAgreement({ ticket, plan, onDone }: { ticket: Ticket; plan: RepairPlan; onDone: () => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<AgreementFields>();
  const once = useOnce();
  const [cost, setCost] = useState<CostBearing>();
  const [signature, setSignature] = useState("");
  const [error, setError] = useState("");
  const currency = plan.content?.costEstimate?.currencyCode || "CNY";
  const quote = () => {
    const minor = fen(form.getFieldValue("quoted"));
    if (minor === undefined) {
      form.setFields([{ name: "quoted", errors: [t("moneyFormat")] }]);
      return undefined;
    }
    return { currencyCode: currency, amountMinor: minor };
  };
  const assess = async () => {
    const quoted = quote();
    if (!quoted) return;
    try {
      setCost((await repair.assessCost({ ticketId: ticket.ticketId, quoted })).cost);
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const send = async (v: AgreementFields) => {
    const quoted = quote();
    if (!quoted) return;
    setError("");
    try {
      const signer = { displayName: v.representative || session.displayName || session.subject, title: t("contractorRepresentative") };
      const evidence = await storeSignature(ticket.ticketId, "agreement-contractor-signature.png", signature, signer.displayName, once("signature"));
      await repair.signAgreement({
        requestId: once("prepare"),
        ticketId: ticket.ticketId,
        planVersion: plan.version,
        contractorObligations: lines(v.contractor_obligations),
        customerObligations: lines(v.customer_obligations),
        acceptanceTerms: lines(v.acceptance_terms),
        quoted,
        awaitCustomerSignature: true,
        signatures: [{ signer, signedTime: timestampNow(), method: SignatureMethod.ON_DEVICE, role: SignatureRole.CONTRACTOR_REPRESENTATIVE, evidence }],
      });
      once.renew("prepare");
      once.renew("signature");
      onDone();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  return (
    <Form form={form} layout="vertical" onFinish={send} onValuesChange={clearEdited(form)} data-testid="prepare-agreement" initialValues={{ contractor_obligations: plan.content?.scope, quoted: "" }}>
      <ErrorAlert message={error} />
      <Form.Item name="contractor_obligations" label={t("contractorObligations")} extra={t("onePerLine")}><Input.TextArea rows={2} data-testid="agreement-contractor" /></Form.Item>
      <Form.Item name="customer_obligations" label={t("customerObligations")} extra={t("onePerLine")}><Input.TextArea rows={2} data-testid="agreement-customer" /></Form.Item>
      <Form.Item name="acceptance_terms" label={t("acceptanceTerms")} extra={t("onePerLine")}><Input.TextArea rows={2} /></Form.Item>
      <Space wrap align="end">
        <Form.Item name="quoted" label={t("quoted")}><Input inputMode="decimal" style={{ width: 180 }} data-testid="agreement-quoted" /></Form.Item>
        <Form.Item><Button onClick={assess} data-testid="assess-cost">{t("assessCost")}</Button></Form.Item>
      </Space>
      {cost && (
        <Descriptions size="small" column={1} bordered data-testid="assessed-cost" style={{ marginBottom: 12 }}>
          <Descriptions.Item label={t("customerPays")}>{money(cost.customerPays)}</Descriptions.Item>
          <Descriptions.Item label={t("contractorBears")}>{money(cost.contractorBears)}</Descriptions.Item>
          <Descriptions.Item label={t("costReasoning")}>{lang === "zh" ? cost.reasoningZh : cost.reasoningEn}</Descriptions.Item>
        </Descriptions>
      )}
      <Form.Item name="representative" label={t("contractorRepresentative")}><Input placeholder={session.displayName || session.subject} /></Form.Item>
      <Typography.Text>{t("signAsContractor")}</Typography.Text>
      <SignaturePad value={signature} onChange={setSignature} />
      <Button type="primary" htmlType="submit" disabled={!signature} style={{ marginTop: 12 }} data-testid="send-agreement">{t("sendForSignature")}</Button>
    </Form>
  );
}

/** The states in which the office talks with the customer about the plan. */
const TALKING = [CaseState.SURVEYED, CaseState.PLAN_PROPOSED, CaseState.PLAN_APPROVED, CaseState.AGREED, CaseState.DISPUTED];

export default function Negotiation({ ticket, plans, agreement, onChanged }: { ticket: Ticket; plans: RepairPlan[]; agreement?: Agreement; onChanged: () => void }) {
  const { t } = useI18n();
  const session = useSession();
  const [decisions, setDecisions] = useState<CustomerDecision[]>([]);
  const [again, setAgain] = useState(false);
  const [prepared, setPrepared] = useState(false);
  useEffect(() => {
    repair
      .listCustomerDecisions({ ticketId: ticket.ticketId })
      .then((r) => setDecisions(r.decisions))
      .catch((err) => {
        if (!isCode(err, Code.PermissionDenied)) setDecisions([]);
      });
  }, [ticket.ticketId, ticket.updateTime]);
  if (!hasRole(session, "agent", "engineer", "manager", "admin") || !TALKING.includes(ticket.state)) return null;
  const mayPrepare = hasRole(session, "engineer", "manager", "admin");
  const agreedPlan = plans.filter((p) => p.status === PlanStatus.AGREED).at(-1);
  const latest = decisions.at(-1);
  const awaiting = agreement?.awaitingCustomerSignature;
  return (
    <Card title={t("negotiation")} data-testid="negotiation">
      <Space direction="vertical" style={{ width: "100%" }}>
        <Communications ticket={ticket} />
        <Card size="small" title={t("customerDecision")}>
          {latest ? (
            <span data-testid="customer-decision">{latest.agreed ? t("agreedToVersion") : t("askedChangesToVersion")} {latest.planVersion}{latest.reasons && ` · ${latest.reasons}`} · {latest.customer?.displayName} <Time value={latest.createTime} /></span>
          ) : (
            <Typography.Text type="secondary">{t("noDecisionYet")}</Typography.Text>
          )}
        </Card>
        {mayPrepare && ticket.state === CaseState.PLAN_APPROVED && agreedPlan && (
          <Card size="small" title={t("prepareAgreement")}>
            {prepared && <Alert type="success" showIcon message={t("agreementPrepared")} data-testid="agreement-prepared" style={{ marginBottom: 12 }} />}
            {awaiting && !again ? (
              <Space>
                <Typography.Text>{t("awaitingCustomerSignature")}</Typography.Text>
                <Button onClick={() => setAgain(true)} data-testid="prepare-again">{t("prepareAgain")}</Button>
              </Space>
            ) : (
              <PrepareAgreement
                ticket={ticket}
                plan={agreedPlan}
                onDone={() => {
                  setPrepared(true);
                  setAgain(false);
                  onChanged();
                }}
              />
            )}
          </Card>
        )}
      </Space>
    </Card>
  );
}
