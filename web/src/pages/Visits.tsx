// The return-visit call list (MISSION §8.1): today's and overdue visits, earliest first, with the
// customer's contact; each call recorded as reached (the part's condition, a recurrence opening
// a linked ticket, and the five-dimension survey as the customer answers), unreachable,
// rescheduled, or declined (the case's remaining visits are cancelled).
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { Alert, Button, Card, Checkbox, Form, Input, List, Select, Space, Switch, Tag, Typography } from "antd";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import dayjs from "dayjs";
import { AttemptOutcome, type Visit } from "../gen/steelcare/feedback/v1/feedback_service_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { feedback, ticketsById } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, showError, useOnce } from "../components";
import { ScoreItems, scoresOf, type Scores } from "../survey";

interface CallFields extends Scores {
  outcome?: number;
  method?: number;
  contact?: { display_name?: string; phone?: string };
  condition?: number;
  recurred?: boolean;
  recurrence_description?: string;
  notes?: string;
  reschedule_time?: string;
  survey?: boolean;
}

function Call({ visit, ticket, onDone }: { visit: Visit; ticket?: Ticket; onDone: (message: string) => void }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<CallFields>();
  const once = useOnce();
  const [error, setError] = useState("");
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState("");
  const outcome = Form.useWatch("outcome", form);
  const recurred = Form.useWatch("recurred", form);
  const survey = Form.useWatch("survey", form);
  const record = async (v: CallFields) => {
    setError("");
    try {
      const contact = { displayName: v.contact?.display_name ?? "", phone: v.contact?.phone ?? "" };
      const r = await feedback.recordVisitAttempt({
        requestId: once("attempt"),
        visitId: visit.visitId,
        outcome: v.outcome ?? 0,
        method: v.method ?? 0,
        contact: v.outcome === AttemptOutcome.REACHED ? contact : undefined,
        condition: v.outcome === AttemptOutcome.REACHED ? (v.condition ?? 0) : 0,
        recurred: v.recurred ?? false,
        recurrenceDescription: v.recurrence_description ?? "",
        notes: v.notes ?? "",
        rescheduleTime: v.reschedule_time ? timestampFromDate(new Date(v.reschedule_time)) : undefined,
      });
      if (v.outcome === AttemptOutcome.REACHED && v.survey) {
        await feedback.submitSatisfaction({ requestId: once("survey"), ticketId: visit.ticketId, visitId: visit.visitId, scores: scoresOf(v), comment: v.comment ?? "", respondent: contact });
      }
      const opened = r.visit?.attempts.at(-1)?.recurrenceTicketId;
      onDone(opened ? t("recurrenceOpened") : t("attemptRecorded"));
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const decline = async () => {
    try {
      await feedback.declineVisits({ requestId: once("decline"), ticketId: visit.ticketId, reason });
      onDone(t("attemptRecorded"));
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Card size="small" type="inner" data-testid="visit-call">
      <ErrorAlert message={error} />
      <Form
        form={form}
        layout="vertical"
        onFinish={record}
        onValuesChange={clearEdited(form)}
        initialValues={{ outcome: AttemptOutcome.REACHED, method: enumValues("VisitMethod")[0], contact: { display_name: ticket?.reporter?.displayName, phone: ticket?.reporter?.phone } }}
      >
        <Space wrap>
          <Form.Item name="outcome" label={t("outcome")}>
            <Select style={{ width: 180 }} data-testid="visit-outcome" options={enumValues("AttemptOutcome").map((v) => ({ value: v, label: enumLabel(lang, "AttemptOutcome", v) }))} />
          </Form.Item>
          <Form.Item name="method" label={t("visitMethod")}>
            <Select style={{ width: 160 }} options={enumValues("VisitMethod").map((v) => ({ value: v, label: enumLabel(lang, "VisitMethod", v) }))} />
          </Form.Item>
        </Space>
        {outcome === AttemptOutcome.REACHED && (
          <>
            <Space wrap>
              <Form.Item name={["contact", "display_name"]} label={t("contactPerson")}><Input /></Form.Item>
              <Form.Item name={["contact", "phone"]} label={t("contactPhone")}><Input /></Form.Item>
              <Form.Item name="condition" label={t("partCondition")}>
                <Select style={{ width: 180 }} data-testid="visit-condition" options={enumValues("PartCondition").map((v) => ({ value: v, label: enumLabel(lang, "PartCondition", v) }))} />
              </Form.Item>
            </Space>
            <Form.Item name="recurred" label={t("recurred")} valuePropName="checked"><Switch data-testid="visit-recurred" /></Form.Item>
            {recurred && <Form.Item name="recurrence_description" label={t("recurrenceDescription")}><Input.TextArea rows={2} data-testid="visit-recurrence" /></Form.Item>}
            <Form.Item name="survey" valuePropName="checked"><Checkbox data-testid="visit-survey">{t("surveyOnCall")}</Checkbox></Form.Item>
            {survey && <ScoreItems />}
          </>
        )}
        {outcome === AttemptOutcome.RESCHEDULED && (
          <Form.Item name="reschedule_time" label={t("rescheduleTo")}><Input type="datetime-local" data-testid="visit-reschedule" /></Form.Item>
        )}
        <Form.Item name="notes" label={t("notes")}><Input.TextArea rows={2} /></Form.Item>
        <Space wrap>
          <Button type="primary" htmlType="submit" data-testid="visit-record">{t("recordAttempt")}</Button>
          <Button danger onClick={() => setDeclining(!declining)} data-testid="visit-decline">{t("declineVisits")}</Button>
        </Space>
      </Form>
      {declining && (
        <Space style={{ marginTop: 12 }} wrap>
          <Input style={{ width: 320 }} placeholder={t("declineReason")} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="decline-reason" />
          <Button danger disabled={!reason.trim()} onClick={decline} data-testid="decline-confirm">{t("declineVisits")}</Button>
        </Space>
      )}
    </Card>
  );
}

export default function Visits() {
  const { t } = useI18n();
  const [visits, setVisits] = useState<Visit[]>();
  const [tickets, setTickets] = useState<Record<string, Ticket>>({});
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [open, setOpen] = useState("");
  const [done, setDone] = useState("");
  const [error, setError] = useState("");
  const load = useCallback(async () => {
    try {
      const r = await feedback.listDueVisits({ dueBefore: timestampFromDate(dayjs().endOf("day").toDate()), overdueOnly, pageSize: 200 });
      setVisits(r.visits);
      setTickets(await ticketsById(r.visits.map((v) => v.ticketId)));
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  }, [overdueOnly, t]);
  useEffect(() => void load(), [load]);
  return (
    <Card title={`${t("callList")} · ${t("dueToday")}`} extra={<Checkbox checked={overdueOnly} onChange={(e) => setOverdueOnly(e.target.checked)} data-testid="visits-overdue-only">{t("overdueOnly")}</Checkbox>}>
      <ErrorAlert message={error} />
      {done && <Alert type="success" showIcon message={done} data-testid="visit-done" style={{ marginBottom: 12 }} />}
      <List
        dataSource={visits ?? []}
        loading={visits === undefined}
        locale={{ emptyText: t("noVisitsDue") }}
        renderItem={(v) => {
          const ticket = tickets[v.ticketId];
          return (
            <List.Item data-testid="due-visit" data-ticket={v.ticketId}>
              <Space direction="vertical" style={{ width: "100%" }}>
                <Space wrap>
                  <Link to={`/tickets/${v.ticketId}`}>{ticket?.acceptanceNumber ?? v.ticketId}</Link>
                  <span>{t("visitNo")} {v.sequence}</span>
                  <span>{t("due")} <Time value={v.dueTime} /></span>
                  {v.overdue && <Tag color="red">{t("overdue")}</Tag>}
                  <span>{ticket?.reporter?.displayName} {ticket?.reporter?.phone}</span>
                  <Typography.Text type="secondary">{t("attempts")}: {v.attempts.length}</Typography.Text>
                  <Button onClick={() => setOpen(open === v.visitId ? "" : v.visitId)} data-testid="visit-open">{t("call")}</Button>
                </Space>
                {ticket && <Typography.Text type="secondary">{ticket.description?.phenomenon}</Typography.Text>}
                {open === v.visitId && (
                  <Call
                    visit={v}
                    ticket={ticket}
                    onDone={(message) => {
                      setDone(message);
                      setOpen("");
                      void load();
                    }}
                  />
                )}
              </Space>
            </List.Item>
          );
        }}
      />
    </Card>
  );
}
