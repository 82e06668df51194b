// What a customer does on their case, phone first: decide on the approved plan (agree, or ask
// for changes with the reasons), countersign the agreement the engineer prepared, dispute
// responsibility or cost, sign the acceptance form with a drawn signature or list what must be
// rectified, and answer the satisfaction survey on the five dimensions of MISSION §8.2.
// Each is a call of the public API with the customer's own token (the API keeps them to their
// organisation's cases).
import { useEffect, useState } from "react";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Alert, Button, Card, DatePicker, Descriptions, Form, Input, List, Space, Tag, Typography } from "antd";
import type { Dayjs } from "dayjs";
import { CaseState, SignatureMethod, SignatureRole } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { DisputeStatus, PlanStatus, type Agreement, type Dispute, type RepairPlan } from "../gen/steelcare/repair/v1/repair_service_pb";
import { Code, acceptance, feedback, intake, isCode, repair } from "../api";
import { useI18n, type Word } from "../i18n";
import { ErrorAlert, Time, clearEdited, money, showError, useOnce } from "../components";

import { useSession } from "../session";
import { SignaturePad, storeSignature } from "../media";
import { ScoreItems, scoresOf, type Scores } from "../survey";

/** What a customer person is called on what they sign and decide. */
function useMe() {
  const { t } = useI18n();
  const session = useSession();
  return { displayName: session.displayName || session.subject, title: t("customerRepresentative") };
}

export default function CustomerActions({ ticket, onChanged }: { ticket: Ticket; onChanged: () => void }) {
  const [done, setDone] = useState<Word>();
  const { t } = useI18n();
  const finished = (word: Word) => {
    setDone(word);
    onChanged();
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {done && <Alert type="success" showIcon message={t(done)} data-testid="customer-done" />}
      {ticket.state === CaseState.PLAN_APPROVED && !done && <PlanDecision ticket={ticket} onDone={finished} />}
      {ticket.state === CaseState.PLAN_APPROVED && !done && <AgreementToSign ticket={ticket} onDone={finished} />}
      {DISPUTABLE.includes(ticket.state) && !done && <DisputeForm ticket={ticket} onDone={finished} />}
      {WITHDRAWABLE.includes(ticket.state) && !done && <Withdraw ticket={ticket} onDone={finished} />}
      {ticket.state === CaseState.SELF_INSPECTED && !done && <AcceptanceForm ticket={ticket} onDone={finished} />}
      {[CaseState.ACCEPTED, CaseState.ARCHIVED, CaseState.CLOSED].includes(ticket.state) && <SatisfactionSurvey ticket={ticket} onDone={setDone} />}
    </Space>
  );
}

/** The states in which a customer may dispute responsibility or cost: from the survey's
 * findings until it is archived (as the API allows), and while one is open. */
const DISPUTABLE = [CaseState.DISPUTED, CaseState.SURVEYED, CaseState.PLAN_PROPOSED, CaseState.PLAN_APPROVED, CaseState.AGREED, CaseState.IN_REPAIR, CaseState.SELF_INSPECTED, CaseState.ACCEPTED];

/** The states in which a customer may still withdraw their report (before a survey is done). */
const WITHDRAWABLE = [CaseState.RECEIVED, CaseState.ACKNOWLEDGED, CaseState.SURVEY_SCHEDULED];

/** Withdraws the report with the reason (CancelTicket, which the API lets a customer call on
 * its own case). */
function Withdraw({ ticket, onDone }: { ticket: Ticket; onDone: (w: Word) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const withdraw = async () => {
    try {
      await intake.cancelTicket({ ticketId: ticket.ticketId, reason });
      onDone("reportWithdrawn");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  if (!open) return <Button size="large" block onClick={() => setOpen(true)} data-testid="withdraw-open">{t("withdrawReport")}</Button>;
  return (
    <Card size="small" title={t("withdrawReport")} data-testid="withdraw">
      <ErrorAlert message={error} />
      <Space direction="vertical" style={{ width: "100%" }}>
        <Input.TextArea rows={2} value={reason} onChange={(e) => setReason(e.target.value)} placeholder={t("cancelReason")} data-testid="withdraw-reason" />
        <Button danger size="large" block disabled={!reason.trim()} onClick={withdraw} data-testid="withdraw-confirm">{t("withdrawReport")}</Button>
      </Space>
    </Card>
  );
}

/** The agreement the engineer prepared, countersigned with a finger: both sides'
 * obligations, the acceptance terms and who pays what, and why. */
function AgreementToSign({ ticket, onDone }: { ticket: Ticket; onDone: (w: Word) => void }) {
  const { t, lang } = useI18n();
  const me = useMe();
  const once = useOnce();
  const [agreement, setAgreement] = useState<Agreement>();
  const [signature, setSignature] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    repair
      .getAgreement({ ticketId: ticket.ticketId })
      .then((r) => setAgreement(r.agreement?.awaitingCustomerSignature ? r.agreement : undefined))
      .catch((err) => {
        if (!isCode(err, Code.NotFound)) setError(showError(err, undefined, t));
      });
  }, [ticket.ticketId, t]);
  if (!agreement) return <ErrorAlert message={error} />;
  const cost = agreement.cost;
  const sign = async () => {
    try {
      const evidence = await storeSignature(ticket.ticketId, "agreement-signature.png", signature, me.displayName, once(`agreement-signature-${agreement.agreementId}`));
      await repair.countersignAgreement({
        requestId: once(`countersign-${agreement.agreementId}`),
        ticketId: ticket.ticketId,
        agreementId: agreement.agreementId,
        signature: { signer: me, signedTime: timestampNow(), method: SignatureMethod.ON_DEVICE, role: SignatureRole.CUSTOMER_REPRESENTATIVE, evidence },
      });
      onDone("agreementSigned");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const list = (items: string[]) => (items.length ? <ul style={{ margin: 0, paddingInlineStart: 18 }}>{items.map((x, i) => <li key={i}>{x}</li>)}</ul> : "—");
  return (
    <Card size="small" title={`${t("agreementToSign")} · ${t("version")} ${agreement.planVersion}`} data-testid="agreement-to-sign">
      <ErrorAlert message={error} />
      <Descriptions size="small" column={1}>
        <Descriptions.Item label={t("scope")}>{agreement.scope}</Descriptions.Item>
        <Descriptions.Item label={t("contractorObligations")}>{list(agreement.contractorObligations)}</Descriptions.Item>
        <Descriptions.Item label={t("customerObligations")}>{list(agreement.customerObligations)}</Descriptions.Item>
        <Descriptions.Item label={t("acceptanceTerms")}>{list(agreement.acceptanceTerms)}</Descriptions.Item>
        <Descriptions.Item label={t("youPay")}><span data-testid="agreement-customer-pays">{money(cost?.customerPays)}</span></Descriptions.Item>
        <Descriptions.Item label={t("contractorBears")}>{money(cost?.contractorBears)}</Descriptions.Item>
        <Descriptions.Item label={t("costReasoning")}>{(lang === "zh" ? cost?.reasoningZh : cost?.reasoningEn) || "—"}</Descriptions.Item>
      </Descriptions>
      <Space direction="vertical" style={{ width: "100%" }}>
        <Typography.Text>{t("signToAgree")}</Typography.Text>
        <SignaturePad value={signature} onChange={setSignature} />
        <Button type="primary" size="large" block onClick={sign} disabled={!signature} data-testid="sign-agreement">{t("signAgreement")}</Button>
      </Space>
    </Card>
  );
}

interface DisputeFields {
  question?: string;
  evidence?: string;
  institution?: string;
  deadline?: Dayjs;
}

/** Disputes responsibility or cost: the question, what supports it, the appraisal institution
 * and when its appraisal is due. While a dispute is open it is shown instead. */
function DisputeForm({ ticket, onDone }: { ticket: Ticket; onDone: (w: Word) => void }) {
  const { t } = useI18n();
  const once = useOnce();
  const [form] = Form.useForm<DisputeFields>();
  const [open, setOpen] = useState<Dispute | null>();
  const [writing, setWriting] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    repair
      .listDisputes({ ticketId: ticket.ticketId })
      .then((r) => setOpen(r.disputes.find((d) => d.status === DisputeStatus.OPEN) ?? null))
      .catch((err) => setError(showError(err, undefined, t)));
  }, [ticket.ticketId, t]);
  const send = async (v: DisputeFields) => {
    try {
      const r = await repair.openDispute({
        requestId: once("dispute"),
        ticketId: ticket.ticketId,
        question: v.question ?? "",
        appraisalInstitution: v.institution ?? "",
        evidence: v.evidence ? [{ note: v.evidence }] : [],
        appraisalDeadlineTime: v.deadline ? timestampFromDate(v.deadline.endOf("day").toDate()) : undefined,
      });
      setOpen(r.dispute ?? null);
      onDone("disputeOpened");
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  if (open === undefined) return <ErrorAlert message={error} />;
  if (open)
    return (
      <Card size="small" title={t("disputeOpen")} data-testid="dispute-open">
        <Typography.Paragraph>{open.question}</Typography.Paragraph>
        {open.appraisalDeadlineTime && <span>{t("appraisalDeadline")}: <Time value={open.appraisalDeadlineTime} /></span>}
      </Card>
    );
  if (!writing) return <Button size="large" block onClick={() => setWriting(true)} data-testid="dispute-it">{t("disputeIt")}</Button>;
  return (
    <Card size="small" title={t("disputeIt")} data-testid="dispute-form">
      <ErrorAlert message={error} />
      <Form form={form} layout="vertical" onFinish={send} onValuesChange={clearEdited(form)}>
        <Form.Item name="question" label={t("disputeQuestion")} rules={[{ required: true, message: t("required") }]}>
          <Input.TextArea rows={3} data-testid="dispute-question" />
        </Form.Item>
        <Form.Item name="evidence" label={t("disputeEvidence")} rules={[{ required: true, message: t("required") }]}>
          <Input.TextArea rows={3} data-testid="dispute-evidence" />
        </Form.Item>
        <Form.Item name="institution" label={t("appraisalInstitution")}><Input data-testid="dispute-institution" /></Form.Item>
        <Form.Item name="deadline" label={t("appraisalDeadline")} rules={[{ required: true, message: t("required") }]}>
          <DatePicker inputReadOnly style={{ width: "100%" }} data-testid="dispute-deadline" />
        </Form.Item>
        <Button type="primary" htmlType="submit" size="large" block data-testid="send-dispute">{t("sendDispute")}</Button>
      </Form>
    </Card>
  );
}

/** The approved plan, to agree to or to ask changes of with the reasons. */
function PlanDecision({ ticket, onDone }: { ticket: Ticket; onDone: (w: Word) => void }) {
  const { t } = useI18n();
  const me = useMe();
  const once = useOnce();
  const [plan, setPlan] = useState<RepairPlan>();
  const [error, setError] = useState("");
  const [asking, setAsking] = useState(false);
  const [reasons, setReasons] = useState("");
  useEffect(() => {
    repair
      .listPlans({ ticketId: ticket.ticketId })
      .then((plans) => setPlan(plans.plans.filter((p) => p.status === PlanStatus.APPROVED).at(-1)))
      .catch((err) => setError(showError(err, undefined, t)));
  }, [ticket.ticketId, t]);
  const decide = async (agreed: boolean) => {
    if (!plan) return;
    try {
      await repair.recordCustomerDecision({ requestId: once(`decision-${plan.version}-${agreed}`), ticketId: ticket.ticketId, planVersion: plan.version, agreed, reasons: agreed ? "" : reasons, customer: me });
      onDone(agreed ? "planAgreed" : "changesAsked");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const content = plan?.content;
  if (!plan) return <ErrorAlert message={error} />;
  return (
    <Card size="small" title={`${t("planToDecide")} · ${t("version")} ${plan.version}`} data-testid="plan-to-decide">
      <ErrorAlert message={error} />
      <Descriptions size="small" column={1}>
        <Descriptions.Item label={t("objective")}>{content?.objective}</Descriptions.Item>
        <Descriptions.Item label={t("scope")}>{content?.scope}</Descriptions.Item>
        <Descriptions.Item label={t("schedule")}><Time value={content?.schedule?.startTime} /> – <Time value={content?.schedule?.endTime} /></Descriptions.Item>
        <Descriptions.Item label={t("costEstimate")}>{money(content?.costEstimate)}</Descriptions.Item>
        <Descriptions.Item label={t("disruption")}>{content?.disruption}</Descriptions.Item>
      </Descriptions>
      <List size="small" dataSource={content?.steps ?? []} renderItem={(s) => <List.Item>{s.keyStep && <Tag color="volcano">{t("keyStep")}</Tag>}{s.description}</List.Item>} />
      {asking ? (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Input.TextArea rows={3} value={reasons} onChange={(e) => setReasons(e.target.value)} placeholder={t("changesWanted")} data-testid="changes-reasons" />
          <Button size="large" block onClick={() => decide(false)} disabled={!reasons.trim()} data-testid="ask-changes">{t("askForChanges")}</Button>
        </Space>
      ) : (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Button type="primary" size="large" block onClick={() => decide(true)} data-testid="agree-plan">{t("agreeToPlan")}</Button>
          <Button size="large" block onClick={() => setAsking(true)}>{t("askForChanges")}</Button>
        </Space>
      )}
    </Card>
  );
}

/** The acceptance form: signed with a finger (the drawing is the signature's evidence), or the
 * items to rectify. */
export function AcceptanceForm({ ticket, onDone, onBehalf = false }: { ticket: Ticket; onDone: (w: Word) => void; onBehalf?: boolean }) {
  const { t } = useI18n();
  const self = useMe();
  const once = useOnce();
  const [error, setError] = useState("");
  const [rectifying, setRectifying] = useState(false);
  const [items, setItems] = useState("");
  const [signature, setSignature] = useState("");
  // The office records it on the customer's behalf: the representative signs in their own name.
  const [representative, setRepresentative] = useState("");
  const me = onBehalf ? { displayName: representative.trim(), title: self.title } : self;
  const accept = async (accepted: boolean) => {
    try {
      let evidence;
      if (accepted) evidence = await storeSignature(ticket.ticketId, "acceptance-signature.png", signature, me.displayName, once("acceptance-signature"));
      await acceptance.recordCustomerAcceptance({
        requestId: once(`acceptance-${accepted}`),
        ticketId: ticket.ticketId,
        accepted,
        rectificationItems: accepted ? [] : items.split("\n").map((s) => s.trim()).filter(Boolean),
        customerSignature: accepted ? { signer: me, signedTime: timestampNow(), method: SignatureMethod.ON_DEVICE, role: SignatureRole.CUSTOMER_REPRESENTATIVE, evidence } : undefined,
      });
      onDone(accepted ? "acceptanceSigned" : "rectificationAsked");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Card size="small" title={t("acceptanceForm")} data-testid="acceptance-form">
      <ErrorAlert message={error} />
      {onBehalf && <Input value={representative} onChange={(e) => setRepresentative(e.target.value)} placeholder={t("customerRepresentative")} style={{ marginBottom: 12 }} data-testid="acceptance-representative" />}
      {rectifying ? (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Input.TextArea rows={4} value={items} onChange={(e) => setItems(e.target.value)} placeholder={t("itemsToRectify")} data-testid="rectification-items" />
          <Button size="large" block onClick={() => accept(false)} disabled={!items.trim()} data-testid="ask-rectification">{t("askForRectification")}</Button>
        </Space>
      ) : (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Typography.Text>{t("signToAccept")}</Typography.Text>
          <SignaturePad value={signature} onChange={setSignature} />
          <Button type="primary" size="large" block onClick={() => accept(true)} disabled={!signature || (onBehalf && !representative.trim())} data-testid="sign-acceptance">{t("signAcceptance")}</Button>
          <Button size="large" block onClick={() => setRectifying(true)}>{t("askForRectification")}</Button>
        </Space>
      )}
    </Card>
  );
}

/** The satisfaction survey on the five dimensions, an optional overall score and a comment;
 * nothing once the case has one. */
function SatisfactionSurvey({ ticket, onDone }: { ticket: Ticket; onDone: (w: Word) => void }) {
  const { t } = useI18n();
  const once = useOnce();
  const [form] = Form.useForm<Scores>();
  const [error, setError] = useState("");
  const [rated, setRated] = useState<boolean>();
  useEffect(() => {
    feedback
      .listSatisfaction({ ticketId: ticket.ticketId })
      .then((r) => setRated(r.surveys.length > 0))
      .catch((err) => setError(showError(err, undefined, t)));
  }, [ticket.ticketId, t]);
  const rate = async (v: Scores) => {
    try {
      await feedback.submitSatisfaction({
        requestId: once("satisfaction"),
        ticketId: ticket.ticketId,
        scores: scoresOf(v),
        comment: v.comment ?? "",
      });
      setRated(true);
      onDone("thanksForRating");
    } catch (err) {
      if (isCode(err, Code.AlreadyExists)) setRated(true);
      else setError(showError(err, form, t));
    }
  };
  if (rated !== false) return <ErrorAlert message={error} />;
  return (
    <Card size="small" title={t("satisfactionSurvey")} data-testid="satisfaction">
      <ErrorAlert message={error} />
      <Form form={form} layout="vertical" onFinish={rate} onValuesChange={clearEdited(form)}>
        <ScoreItems />
        <Button type="primary" htmlType="submit" size="large" block data-testid="rate-submit">{t("sendRating")}</Button>
      </Form>
    </Card>
  );
}
