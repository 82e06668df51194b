// An open dispute as the office sees it, and its settlement by a manager: how it was settled,
// the outcome, the responsibility in percent (adding up to 100), and, when an agreement exists,
// the quote the amended cost bearing applies to with both sides' signatures on the amendment.
// The case then goes on where it left off.
import { useEffect, useRef, useState } from "react";
import { Alert, Button, Card, Descriptions, Form, Input, InputNumber, Select, Space, Tag } from "antd";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { CaseState, SignatureMethod, SignatureRole } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { DisputeStatus, type Agreement, type Dispute } from "../gen/steelcare/repair/v1/repair_service_pb";
import { repair } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, fen, showError } from "../components";
import { hasRole, useSession } from "../session";

interface SettleFields {
  resolution?: number;
  outcome?: string;
  responsibility?: { party?: number; percent?: number; party_name?: string }[];
  quoted?: string;
  customer_signer?: string;
  contractor_signer?: string;
}

export default function DisputeDesk({ ticket, agreement, onChanged }: { ticket: Ticket; agreement?: Agreement; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<SettleFields>();
  const requestId = useRef(crypto.randomUUID());
  const [dispute, setDispute] = useState<Dispute>();
  const [settled, setSettled] = useState(false);
  const [error, setError] = useState("");
  const staff = !hasRole(session, "customer");
  useEffect(() => {
    if (!staff || ticket.state !== CaseState.DISPUTED) return;
    repair
      .listDisputes({ ticketId: ticket.ticketId })
      .then((r) => setDispute(r.disputes.find((d) => d.status === DisputeStatus.OPEN)))
      .catch((err) => setError(showError(err, undefined, t)));
  }, [staff, ticket.ticketId, ticket.state, t]);
  if (settled) return <Alert type="success" showIcon message={t("disputeSettled")} data-testid="dispute-settled" />;
  if (!dispute) return <ErrorAlert message={error} />;
  const concluded = agreement && !agreement.awaitingCustomerSignature;
  const settle = async (v: SettleFields) => {
    setError("");
    const minor = concluded ? fen(v.quoted) : undefined;
    if (concluded && minor === undefined) {
      form.setFields([{ name: "quoted", errors: [t("moneyFormat")] }]);
      return;
    }
    const currency = agreement?.cost?.quoted?.currencyCode || "CNY";
    const signer = (name: string | undefined, role: SignatureRole) => ({ signer: { displayName: name ?? "" }, role, method: SignatureMethod.PAPER_SCAN, signedTime: timestampNow() });
    try {
      await repair.resolveDispute({
        requestId: requestId.current,
        disputeId: dispute.disputeId,
        resolution: v.resolution ?? 0,
        outcome: v.outcome ?? "",
        responsibility: (v.responsibility ?? []).map((r) => ({ party: r.party ?? 0, percent: r.percent ?? 0, partyName: r.party_name ?? "" })),
        quoted: minor === undefined ? undefined : { currencyCode: currency, amountMinor: minor },
        signatures: concluded
          ? [signer(v.customer_signer, SignatureRole.CUSTOMER_REPRESENTATIVE), signer(v.contractor_signer, SignatureRole.CONTRACTOR_REPRESENTATIVE)]
          : [],
      });
      setSettled(true);
      onChanged();
    } catch (err) {
      requestId.current = crypto.randomUUID();
      setError(showError(err, form, t));
    }
  };
  return (
    <Card title={t("disputeResolution")} data-testid="dispute-desk">
      <Descriptions size="small" column={1} bordered>
        <Descriptions.Item label={t("disputeQuestion")}>{dispute.question}</Descriptions.Item>
        <Descriptions.Item label={t("disputeEvidence")}>{dispute.evidence.map((e) => e.note).filter(Boolean).join("; ") || "—"}</Descriptions.Item>
        <Descriptions.Item label={t("appraisalInstitution")}>{dispute.appraisalInstitution || "—"}</Descriptions.Item>
        <Descriptions.Item label={t("appraisalDeadline")}>
          <Time value={dispute.appraisalDeadlineTime} /> {dispute.appraisalOverdue && <Tag color="red">{t("appraisalOverdue")}</Tag>}
        </Descriptions.Item>
        <Descriptions.Item label={t("openedBy")}>{dispute.openedBy?.displayName} <Time value={dispute.openTime} /></Descriptions.Item>
      </Descriptions>
      <ErrorAlert message={error} />
      {hasRole(session, "manager", "admin") && (
        <Form
          form={form}
          layout="vertical"
          onFinish={settle}
          // A share edited answers the refusal of the shares as a whole too.
          onValuesChange={(changed) => {
            clearEdited(form)(changed);
            if ("responsibility" in changed) form.setFields([{ name: "responsibility", errors: [] }]);
          }}
          style={{ marginTop: 12 }}
          initialValues={{ responsibility: [{ percent: 100 }], contractor_signer: session.displayName || session.subject }}
        >
          <Space wrap>
            <Form.Item name="resolution" label={t("settledHow")}>
              <Select style={{ width: 200 }} data-testid="settle-resolution" options={enumValues("DisputeResolution").map((v) => ({ value: v, label: enumLabel(lang, "DisputeResolution", v) }))} />
            </Form.Item>
          </Space>
          <Form.Item name="outcome" label={t("outcomeInWords")}><Input.TextArea rows={2} data-testid="settle-outcome" /></Form.Item>
          <Form.Item label={t("responsibility")}>
            <Form.List name="responsibility">
              {(items, { add, remove }, { errors }) => (
                <Space direction="vertical">
                  {items.map((item) => (
                    <Space key={item.key} wrap>
                      <Form.Item name={[item.name, "party"]} noStyle>
                        <Select style={{ width: 180 }} placeholder={t("party")} data-testid={`settle-party-${item.name}`} options={enumValues("ResponsibleParty").map((v) => ({ value: v, label: enumLabel(lang, "ResponsibleParty", v) }))} />
                      </Form.Item>
                      <Form.Item name={[item.name, "percent"]} noStyle><InputNumber min={1} max={100} placeholder={t("percent")} data-testid={`settle-percent-${item.name}`} /></Form.Item>
                      <Form.Item name={[item.name, "party_name"]} noStyle><Input style={{ width: 200 }} placeholder={t("partyName")} /></Form.Item>
                      <Button type="link" onClick={() => remove(item.name)}>{t("remove")}</Button>
                    </Space>
                  ))}
                  <Button size="small" onClick={() => add({})} data-testid="settle-add-share">{t("addShare")}</Button>
                  <Form.ErrorList errors={errors} />
                </Space>
              )}
            </Form.List>
          </Form.Item>
          {concluded && (
            <Space wrap>
              <Form.Item name="quoted" label={t("quoted")}><Input style={{ width: 160 }} data-testid="settle-quoted" /></Form.Item>
              <Form.Item name="customer_signer" label={`${t("amendmentSigners")} · ${t("customerRepresentative")}`}><Input data-testid="settle-customer-signer" /></Form.Item>
              <Form.Item name="contractor_signer" label={t("contractorRepresentative")}><Input /></Form.Item>
            </Space>
          )}
          <div><Button type="primary" htmlType="submit" data-testid="settle-dispute">{t("settleDispute")}</Button></div>
        </Form>
      )}
    </Card>
  );
}
