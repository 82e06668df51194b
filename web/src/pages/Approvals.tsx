// The approvals inbox of technical leads and chief engineers: the plan versions whose next
// step of the approval chain is the reader's (ListPlansToReview applies ReviewPlan's own rule:
// never their own plan), each in full, to approve or to send back with a comment.
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { Alert, Button, Card, Empty, Input, Space, Tag } from "antd";
import type { PlanToReview } from "../gen/steelcare/repair/v1/repair_service_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { repair, ticketsById } from "../api";
import { enumLabel, useI18n } from "../i18n";
import { ErrorAlert, showError, useOnce } from "../components";
import { PlanDetails } from "../plan";

function Review({ item, ticket, onDone }: { item: PlanToReview; ticket?: Ticket; onDone: (approved: boolean) => void }) {
  const { t, lang } = useI18n();
  const plan = item.plan;
  // One request id per decision on this version: a second click is the same call.
  const once = useOnce();
  const [comments, setComments] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  if (!plan) return null;
  const review = async (approved: boolean) => {
    setBusy(true);
    setError("");
    try {
      await repair.reviewPlan({ requestId: once(`${approved}`), ticketId: plan.ticketId, version: plan.version, approved, comments });
      onDone(approved);
    } catch (err) {
      setError(showError(err, undefined, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card
      size="small"
      data-testid="plan-to-review"
      data-ticket={plan.ticketId}
      title={
        <Space wrap>
          <Link to={`/tickets/${plan.ticketId}`}>{ticket?.acceptanceNumber ?? plan.ticketId}</Link>
          <span>{t("version")} {plan.version}</span>
          <Tag color="blue">{t("yourStep")}: {enumLabel(lang, "ApprovalStep", item.step)}</Tag>
        </Space>
      }
    >
      {ticket && <p>{ticket.description?.phenomenon}</p>}
      {plan.revisionReason && <Alert type="info" showIcon message={plan.revisionReason} style={{ marginBottom: 8 }} />}
      <PlanDetails plan={plan} />
      <ErrorAlert message={error} />
      <Space direction="vertical" style={{ width: "100%", marginTop: 12 }}>
        <Input.TextArea rows={2} value={comments} onChange={(e) => setComments(e.target.value)} placeholder={t("reviewComment")} data-testid="review-comments" />
        <Space wrap>
          <Button type="primary" size="large" loading={busy} onClick={() => review(true)} data-testid="approve-plan">{t("approve")}</Button>
          <Button danger size="large" loading={busy} onClick={() => review(false)} data-testid="request-changes">{t("requestChanges")}</Button>
        </Space>
      </Space>
    </Card>
  );
}

export default function Approvals() {
  const { t } = useI18n();
  const [items, setItems] = useState<PlanToReview[]>();
  const [tickets, setTickets] = useState<Record<string, Ticket>>({});
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const load = useCallback(async () => {
    try {
      const r = await repair.listPlansToReview({ pageSize: 100 });
      setItems(r.plans);
      setTickets(await ticketsById(r.plans.map((p) => p.plan?.ticketId ?? "")));
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  }, [t]);
  useEffect(() => void load(), [load]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Card title={t("approvalsInbox")}>
        <ErrorAlert message={error} />
        {done && <Alert type="success" showIcon message={done} data-testid="reviewed" style={{ marginBottom: 12 }} />}
        {items && items.length === 0 && <Empty description={t("nothingToReview")} data-testid="inbox-empty" />}
      </Card>
      {items?.map((item) => (
        <Review
          key={`${item.plan?.planId}-${item.plan?.version}`}
          item={item}
          ticket={tickets[item.plan?.ticketId ?? ""]}
          onDone={(approved) => {
            setDone(`${t("reviewed")}: ${approved ? t("approve") : t("requestChanges")}`);
            void load();
          }}
        />
      ))}
    </Space>
  );
}
