// The case file: lifecycle timeline, the four SLA clocks counting down, and the records every
// service keeps about the case. WatchTicket keeps it live: a changed ticket, or an event from
// any other service about the case, reloads what changed.
import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { Badge, Button, Card, Col, Descriptions, Empty, List, Popover, Row, Space, Table, Tag, Timeline, Typography } from "antd";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import type { Assignment } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import { AssignmentState } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import type { Agreement, RepairPlan, SurveyReport, WorkLogEntry } from "../gen/steelcare/repair/v1/repair_service_pb";
import { PlanStatus } from "../gen/steelcare/repair/v1/repair_service_pb";
import type { CustomerAcceptance } from "../gen/steelcare/acceptance/v1/acceptance_service_pb";
import type { Visit } from "../gen/steelcare/feedback/v1/feedback_service_pb";
import { VisitStatus } from "../gen/steelcare/feedback/v1/feedback_service_pb";
import { CaseState, RootCause, type Measurement } from "../gen/steelcare/common/v1/common_pb";
import { Code, ConnectError, acceptance, dispatch, feedback, intake, isCode, repair } from "../api";
import { enumLabel, useI18n, type Word } from "../i18n";
import { Clock, EnumTag, ErrorAlert, Time, money, showError } from "../components";
import { toDate } from "../time";
import { hasRole, useSession } from "../session";
import CustomerActions from "./CustomerActions";
import DeskActions from "./DeskActions";
import Negotiation from "./Negotiation";
import DisputeDesk from "./DisputeDesk";
import { changedParts } from "../plan";
import { MarkStandard } from "../experience";

/** The office marks a plan as the standard repair for its kind of defect, in a popover. */
function MarkStandardButton({ ticketId }: { ticketId: string }) {
  const { t } = useI18n();
  return (
    <Popover trigger="click" content={<div style={{ width: "min(320px, 80vw)" }}><MarkStandard ticketId={ticketId} /></div>}>
      <Button size="small" data-testid="standard-open">{t("standardRepair")}</Button>
    </Popover>
  );
}

/** The states in which a plan is written or revised (ProposePlan's). */
const PLANNABLE = [CaseState.SURVEYED, CaseState.PLAN_PROPOSED, CaseState.PLAN_APPROVED];

interface Records {
  assignments: Assignment[];
  surveys: SurveyReport[];
  plans: RepairPlan[];
  agreement?: Agreement;
  work: WorkLogEntry[];
  acceptances: CustomerAcceptance[];
  visits: Visit[];
}

const none: Records = { assignments: [], surveys: [], plans: [], work: [], acceptances: [], visits: [] };

/** A record the caller may not read, or that does not exist yet, is simply not shown. */
async function optional<T>(call: Promise<T>, fallback: T): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (isCode(err, Code.PermissionDenied) || isCode(err, Code.NotFound)) return fallback;
    throw err;
  }
}

async function loadRecords(ticketId: string): Promise<Records> {
  const [assignments, surveys, plans, agreement, work, acceptances, visits] = await Promise.all([
    optional(dispatch.listAssignments({ ticketId, pageSize: 100 }).then((r) => r.assignments), []),
    optional(repair.listSurveyReports({ ticketId }).then((r) => r.reports), []),
    optional(repair.listPlans({ ticketId }).then((r) => r.plans), []),
    optional(repair.getAgreement({ ticketId }).then((r) => r.agreement), undefined),
    optional(repair.listWorkLog({ ticketId, pageSize: 200 }).then((r) => r.entries), []),
    optional(acceptance.listCustomerAcceptances({ ticketId }).then((r) => r.acceptances), []),
    optional(feedback.listVisits({ ticketId }).then((r) => r.visits), []),
  ]);
  return { assignments, surveys, plans, agreement, work, acceptances, visits };
}

function measurementRows(ms: Measurement[], lang: string) {
  return ms.map((m) => ({
    key: m.measurementId || `${m.member}-${m.location}`,
    quantity: m.quantity.case ?? "",
    member: m.member,
    location: m.location,
    readings: m.readings.join(", "),
    limits: m.judgement ? `${m.judgement.lowerLimit ?? "−∞"} … ${m.judgement.upperLimit ?? "+∞"} ${m.judgement.unit}` : "",
    passed: m.judgement?.passed,
    reason: (lang === "zh" ? m.judgement?.reasonZh : m.judgement?.reason) ?? "",
  }));
}

function Measurements({ items }: { items: Measurement[] }) {
  const { t, lang } = useI18n();
  return (
    <Table
      scroll={{ x: 720 }}
      size="small"
      pagination={false}
      dataSource={measurementRows(items, lang)}
      columns={[
        { title: t("measurements"), dataIndex: "quantity" },
        { title: t("member"), dataIndex: "member" },
        { title: t("location"), dataIndex: "location" },
        { title: t("readings"), dataIndex: "readings" },
        { title: t("limits"), dataIndex: "limits" },
        { title: t("verdict"), render: (_, r) => (r.passed === undefined ? "—" : <Tag color={r.passed ? "green" : "red"}>{r.passed ? t("passed") : t("failed")}</Tag>) },
        { title: t("judgementBasis"), dataIndex: "reason" },
      ]}
    />
  );
}

type Step = { at?: Timestamp; label: string; color?: string };

function lifecycle(ticket: Ticket, r: Records, lang: "zh" | "en", t: (w: Word) => string): Step[] {
  const steps: Step[] = [{ at: ticket.createTime, label: `${ticket.acceptanceNumber} · ${enumLabel(lang, "Channel", ticket.channel)}` }];
  if (ticket.readbackConfirmTime) steps.push({ at: ticket.readbackConfirmTime, label: t("stepReadback") });
  for (const a of r.assignments) {
    for (const o of a.offers) {
      steps.push({
        at: o.offerTime,
        label: `${t("stepOffered")} ${o.technicianName || o.technicianId}${o.reason ? ` (${o.reason})` : ""} → ${enumLabel(lang, "AssignmentState", o.state)}`,
        color: o.state === AssignmentState.CONFIRMED ? "green" : o.state === AssignmentState.DECLINED || o.state === AssignmentState.EXPIRED ? "red" : "blue",
      });
    }
    if (a.arriveTime) steps.push({ at: a.arriveTime, label: `${t("stepArrived")} ${a.technicianName || a.technicianId}`, color: "green" });
  }
  for (const s of r.surveys) steps.push({ at: s.createTime, label: `${t("stepSurvey")} v${s.version}` });
  for (const p of r.plans) {
    steps.push({ at: p.createTime, label: `${t("stepPlan")} v${p.version}` });
    for (const rv of p.reviews) steps.push({ at: rv.createTime, label: `v${p.version} ${enumLabel(lang, "ApprovalStep", rv.step)} ${rv.approved ? "✓" : "✗"}`, color: rv.approved ? "green" : "red" });
  }
  if (r.agreement?.signTime && !r.agreement.awaitingCustomerSignature) steps.push({ at: r.agreement.signTime, label: t("stepAgreement") });
  for (const w of r.work) steps.push({ at: w.createTime, label: `${t("stepWork")} ${w.progressPercent}% · ${w.content}` });
  for (const a of r.acceptances) steps.push({ at: a.createTime, label: `${t("stepAcceptance")} #${a.round} ${a.accepted ? "✓" : "✗"}`, color: a.accepted ? "green" : "red" });
  for (const v of r.visits) if (v.status === VisitStatus.DONE) steps.push({ at: v.dueTime, label: `${t("stepVisit")} #${v.sequence}` });
  return steps.sort((a, b) => (toDate(a.at)?.getTime() ?? 0) - (toDate(b.at)?.getTime() ?? 0));
}

export default function CasePage() {
  const { ticketId = "" } = useParams();
  const { t, lang } = useI18n();
  const session = useSession();
  const [ticket, setTicket] = useState<Ticket>();
  const [records, setRecords] = useState<Records>(none);
  const [error, setError] = useState("");
  const [live, setLive] = useState(false);

  const reload = useCallback(() => {
    loadRecords(ticketId).then(setRecords).catch((err) => setError(showError(err, undefined, t)));
  }, [ticketId, t]);

  // WatchTicket: the first message is the ticket as it is; later ones come with each change.
  // The stream is opened again after it ends (a server restart, a balancer's timeout).
  useEffect(() => {
    const abort = new AbortController();
    let stopped = false;
    const watch = async () => {
      while (!stopped) {
        try {
          for await (const message of intake.watchTicket({ ticketId }, { signal: abort.signal })) {
            setLive(true);
            setError("");
            if (message.ticket) setTicket(message.ticket);
            reload();
          }
        } catch (err) {
          if (stopped) return;
          const e = ConnectError.from(err);
          if (e.code === Code.NotFound || e.code === Code.PermissionDenied || e.code === Code.InvalidArgument || e.code === Code.Unauthenticated) {
            setError(showError(err, undefined, t));
            setLive(false);
            return;
          }
        }
        setLive(false);
        await new Promise((resolve) => window.setTimeout(resolve, 2000));
      }
    };
    void watch();
    return () => { stopped = true; abort.abort(); };
  }, [ticketId, reload, t]);

  if (!ticket) return <Card loading={!error}><ErrorAlert message={error} /></Card>;
  const sla = ticket.sla;
  const steps = lifecycle(ticket, records, lang, t);
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ErrorAlert message={error} />
      {hasRole(session, "customer") && <CustomerActions ticket={ticket} onChanged={() => void reload()} />}
      <DeskActions ticket={ticket} onChanged={() => void reload()} />
      <Negotiation ticket={ticket} plans={records.plans} agreement={records.agreement} onChanged={() => void reload()} />
      <DisputeDesk ticket={ticket} agreement={records.agreement} onChanged={() => void reload()} />
      <Card
        title={<Space><span data-testid="case-number">{ticket.acceptanceNumber}</span><span data-testid="case-state"><EnumTag name="CaseState" value={ticket.state} color="blue" /></span></Space>}
        extra={
          <Space>
            {hasRole(session, "technician", "engineer") && <Link to={`/jobs/${ticket.ticketId}`} data-testid="open-job">{t("onSite")}</Link>}
            {hasRole(session, "engineer", "chief_engineer", "admin") && PLANNABLE.includes(ticket.state) && (
              <Link to={`/tickets/${ticket.ticketId}/plan`} data-testid="open-plan-editor">{records.plans.length ? t("revisePlan") : t("writePlan")}</Link>
            )}
            <Badge status={live ? "processing" : "default"} text={<span data-testid="live">{live ? t("live") : "…"}</span>} />
          </Space>
        }
      >
        <Descriptions size="small" column={{ xs: 1, md: 3 }}>
          <Descriptions.Item label={t("category")}><EnumTag name="ProblemCategory" value={ticket.category} /></Descriptions.Item>
          <Descriptions.Item label={t("tier")}><EnumTag name="SeverityTier" value={ticket.tier} /></Descriptions.Item>
          <Descriptions.Item label={t("warranty")}>{ticket.warranty?.inWarranty ? t("inWarranty") : t("outOfWarranty")}</Descriptions.Item>
          <Descriptions.Item label={t("location")}>{ticket.location?.description} {ticket.location?.gridAxes}</Descriptions.Item>
          <Descriptions.Item label={t("phenomenon")}>{ticket.description?.phenomenon}</Descriptions.Item>
          <Descriptions.Item label={t("reporter")}>{ticket.reporter?.displayName} {ticket.reporter?.phone}</Descriptions.Item>
        </Descriptions>
        <Typography.Title level={5}>{t("clocks")}</Typography.Title>
        <Space wrap size="middle">
          <Clock kind="response" clock={sla?.response} />
          <Clock kind="arrival" clock={sla?.arrival} />
          <Clock kind="solution" clock={sla?.solution} />
          <Clock kind="completion" clock={sla?.completion} />
        </Space>
      </Card>
      <Row gutter={16}>
        <Col xs={24} lg={8}>
          <Card title={t("lifecycle")}>
            <Timeline data-testid="timeline" items={steps.map((s) => ({ color: s.color, children: <><div>{s.label}</div><Typography.Text type="secondary"><Time value={s.at} /></Typography.Text></> }))} />
          </Card>
        </Col>
        <Col xs={24} lg={16}>
          <Space direction="vertical" style={{ width: "100%" }}>
            <Card title={t("assignments")} size="small">
              <List
                data-testid="case-assignments"
                dataSource={records.assignments}
                locale={{ emptyText: t("nothing") }}
                renderItem={(a) => (
                  <List.Item>
                    <Space wrap>
                      <span data-testid="assignment-state"><EnumTag name="AssignmentState" value={a.state} color={a.state === AssignmentState.CONFIRMED ? "green" : undefined} /></span>
                      <span data-testid="assignment-technician">{a.technicianName || a.technicianId}</span>
                      <span>{t("deadline")} <Time value={a.arrivalDeadlineTime} /></span>
                      {a.overdue && <Tag color="red">{t("overdue")}</Tag>}
                    </Space>
                  </List.Item>
                )}
              />
            </Card>
            <Card title={t("survey")} size="small" data-testid="survey">
              {records.surveys.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t("nothing")} /> : records.surveys.map((s) => (
                <div key={s.reportId}>
                  <Typography.Paragraph>v{s.version} · {s.findings} · {RootCause[s.diagnosis?.rootCause ?? 0]}</Typography.Paragraph>
                  <Measurements items={s.measurements} />
                </div>
              ))}
            </Card>
            <Card title={t("plans")} size="small" extra={records.plans.length > 0 && hasRole(session, "engineer", "chief_engineer", "manager", "admin") && <MarkStandardButton ticketId={ticket.ticketId} />}>
              {records.plans.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t("nothing")} /> : (
                <List
                  dataSource={records.plans}
                  renderItem={(p, i) => (
                    <List.Item>
                      <Space direction="vertical">
                        {i > 0 && <span data-testid="plan-version-changes">{t("whatChanged")}: {changedParts(records.plans[i - 1].content, p.content).map((w) => t(w)).join(" · ") || "—"}</span>}
                        <Space><b>{t("version")} {p.version}</b><Tag color={p.status === PlanStatus.REJECTED ? "red" : p.status === PlanStatus.PROPOSED ? "blue" : "green"}>{enumLabel(lang, "PlanStatus", p.status)}</Tag>{p.revisionReason}</Space>
                        <span>{t("approvals")}: {p.approvalChain.map((s) => enumLabel(lang, "ApprovalStep", s)).join(" → ")}</span>
                        {p.reviews.map((r) => <span key={r.reviewId}>{enumLabel(lang, "ApprovalStep", r.step)} {r.approved ? "✓" : "✗"} {r.comments} (<Time value={r.createTime} />)</span>)}
                      </Space>
                    </List.Item>
                  )}
                />
              )}
            </Card>
            <Card title={t("agreement")} size="small" extra={records.agreement?.awaitingCustomerSignature && <Tag color="orange" data-testid="agreement-awaiting">{t("awaitingCustomerSignature")}</Tag>}>
              {records.agreement ? (
                <Descriptions size="small" column={1}>
                  <Descriptions.Item label={t("version")}>{records.agreement.planVersion}</Descriptions.Item>
                  <Descriptions.Item label={t("scope")}>{records.agreement.scope}</Descriptions.Item>
                  <Descriptions.Item label={t("cost")}>
                    {money(records.agreement.cost?.quoted)} · {t("customerPays")} {money(records.agreement.cost?.customerPays)} · {t("contractorBears")} {money(records.agreement.cost?.contractorBears)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("whyThisBearing")}>{lang === "zh" ? records.agreement.cost?.reasoningZh : records.agreement.cost?.reasoningEn}</Descriptions.Item>
                  <Descriptions.Item label={t("created")}><Time value={records.agreement.signTime} /></Descriptions.Item>
                </Descriptions>
              ) : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t("nothing")} />}
            </Card>
            <Card title={t("workLog")} size="small">
              <List dataSource={records.work} locale={{ emptyText: t("nothing") }} renderItem={(w) => <List.Item><Time value={w.createTime} /> · {w.progressPercent}% · {w.content}</List.Item>} />
            </Card>
            <Card title={t("acceptanceRounds")} size="small">
              <List dataSource={records.acceptances} locale={{ emptyText: t("nothing") }} renderItem={(a) => <List.Item>#{a.round} {a.accepted ? <Tag color="green">✓</Tag> : <Tag color="red">✗ {a.rectificationItems.join("; ")}</Tag>} <Time value={a.createTime} /></List.Item>} />
            </Card>
            <Card title={t("visits")} size="small">
              <List dataSource={records.visits} locale={{ emptyText: t("nothing") }} renderItem={(v) => <List.Item>#{v.sequence} · {VisitStatus[v.status]} · <Time value={v.dueTime} />{v.overdue && <Tag color="red">{t("overdue")}</Tag>}</List.Item>} />
            </Card>
          </Space>
        </Col>
      </Row>
    </Space>
  );
}
