// The dispatch board: waiting, offered and confirmed assignments ordered by their arrival
// deadline, the technicians' load, and an offer by hand with a reason. A technician sees the
// offers made to them and accepts or declines them here.
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { Button, Card, Col, Form, Input, List, Modal, Progress, Row, Select, Space, Tag, Typography } from "antd";
import type { Assignment, Technician } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import { AssignmentState } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import { dispatch, intake } from "../api";
import { useI18n, type Word } from "../i18n";
import { EnumTag, ErrorAlert, Time, clearEdited, showError, useNow } from "../components";
import { hasRole, useSession } from "../session";
import { toDate } from "../time";

const COLUMNS: [AssignmentState, Word][] = [
  [AssignmentState.WAITING, "waiting"],
  [AssignmentState.OFFERED, "offered"],
  [AssignmentState.CONFIRMED, "confirmed"],
];

const byDeadline = (a: Assignment, b: Assignment) =>
  (toDate(a.arrivalDeadlineTime)?.getTime() ?? Infinity) - (toDate(b.arrivalDeadlineTime)?.getTime() ?? Infinity);

export default function Board() {
  const { t } = useI18n();
  const session = useSession();
  const technicianView = hasRole(session, "technician") && !hasRole(session, "dispatcher", "manager", "admin");
  const [assignments, setAssignments] = useState<Assignment[]>([]);
  const [technicians, setTechnicians] = useState<Technician[]>([]);
  const [numbers, setNumbers] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [offering, setOffering] = useState<Assignment>();
  const [declining, setDeclining] = useState<Assignment>();
  const [offerForm] = Form.useForm();
  const [declineForm] = Form.useForm();
  const now = useNow(5000);

  const load = useCallback(async () => {
    try {
      const [a, techs] = await Promise.all([
        dispatch.listAssignments({ pageSize: 500, states: COLUMNS.map(([s]) => s) }),
        technicianView ? Promise.resolve({ technicians: [] as Technician[] }) : dispatch.listTechnicians({ pageSize: 500 }),
      ]);
      setAssignments(a.assignments);
      setTechnicians(techs.technicians);
      setError("");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  }, [t, technicianView]);

  // The board refreshes every few seconds: offers expire and workers offer on their own.
  useEffect(() => { void load(); }, [load, now]);

  // Acceptance numbers for the cards (one GetTicket per ticket not seen yet).
  useEffect(() => {
    const missing = [...new Set(assignments.map((a) => a.ticketId))].filter((id) => !(id in numbers));
    if (missing.length === 0) return;
    Promise.all(missing.map((id) => intake.getTicket({ ticketId: id }).then((r) => [id, r.ticket?.acceptanceNumber ?? id] as const).catch(() => [id, id] as const)))
      .then((pairs) => setNumbers((old) => ({ ...old, ...Object.fromEntries(pairs) })));
  }, [assignments, numbers]);

  const offer = async (v: { technician_id?: string; reason?: string }) => {
    if (!offering) return;
    try {
      await dispatch.offerAssignment({ ticketId: offering.ticketId, technicianId: v.technician_id ?? "", reason: v.reason ?? "" });
      setOffering(undefined);
      offerForm.resetFields();
      await load();
    } catch (err) {
      setError(showError(err, offerForm, t));
    }
  };
  const accept = async (a: Assignment) => {
    try {
      await dispatch.acceptAssignment({ assignmentId: a.assignmentId });
      await load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const decline = async (v: { reason?: string }) => {
    if (!declining) return;
    try {
      await dispatch.declineAssignment({ assignmentId: declining.assignmentId, reason: v.reason ?? "" });
      setDeclining(undefined);
      declineForm.resetFields();
      await load();
    } catch (err) {
      setError(showError(err, declineForm, t));
    }
  };

  // Technicians by name, as the assignment carries it.
  const nameOf = (a: Assignment) => a.technicianName || a.technicianId;
  const card = (a: Assignment) => (
    <Card key={a.assignmentId} size="small" style={{ marginBottom: 8 }} data-testid="board-card" data-ticket={a.ticketId}>
      <Space direction="vertical" size={2} style={{ width: "100%" }}>
        <Space wrap>
          <Link to={`/tickets/${a.ticketId}`}>{numbers[a.ticketId] ?? a.ticketId.slice(0, 8)}</Link>
          <EnumTag name="SeverityTier" value={a.tier} color="volcano" />
          <EnumTag name="ProblemCategory" value={a.category} />
          {a.overdue && <Tag color="red">{t("overdue")}</Tag>}
          {a.manual && <Tag data-testid="manual">{t("offerByHand")}</Tag>}
        </Space>
        <Typography.Text type="secondary">{t("deadline")} <Time value={a.arrivalDeadlineTime} /></Typography.Text>
        {a.technicianId && <span>{t("technician")}: <b data-testid="card-technician" data-technician={a.technicianId}>{nameOf(a)}</b>{a.offerExpireTime && <> · <Time value={a.offerExpireTime} /></>}</span>}
        <Space>
          {!technicianView && a.state !== AssignmentState.CONFIRMED && (
            <Button size="small" onClick={() => setOffering(a)} data-testid="offer-by-hand">{t("offerByHand")}</Button>
          )}
          {technicianView && a.state === AssignmentState.OFFERED && a.technicianId === session.subject && (
            <>
              <Button size="small" type="primary" onClick={() => accept(a)} data-testid="accept">{t("accept")}</Button>
              <Button size="small" danger onClick={() => setDeclining(a)}>{t("decline")}</Button>
            </>
          )}
          {technicianView && a.state === AssignmentState.CONFIRMED && a.technicianId === session.subject && (
            <Link to={`/jobs/${a.ticketId}`}><Button type="primary" data-testid="on-site">{t("onSite")}</Button></Link>
          )}
        </Space>
      </Space>
    </Card>
  );

  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Row gutter={16}>
        {COLUMNS.map(([state, word]) => {
          const items = assignments.filter((a) => a.state === state).sort(byDeadline);
          return (
            <Col xs={24} md={technicianView ? 8 : 6} key={state}>
              <Card title={<Space>{t(word)}<Tag>{items.length}</Tag></Space>} size="small" data-testid={`column-${AssignmentState[state].toLowerCase()}`} styles={{ body: { background: "#fafafa", minHeight: 240 } }}>
                {items.map(card)}
              </Card>
            </Col>
          );
        })}
        {!technicianView && (
          <Col xs={24} md={6}>
            <Card title={t("technicians")} size="small" data-testid="technicians">
              <List
                dataSource={technicians}
                renderItem={(tech) => (
                  <List.Item>
                    <Space direction="vertical" size={0} style={{ width: "100%" }}>
                      <Space>{tech.person?.displayName || tech.technicianId}<Typography.Text type="secondary">{tech.team}</Typography.Text></Space>
                      <Progress percent={tech.capacity ? Math.round((100 * tech.bookedAssignments) / tech.capacity) : 0} format={() => `${tech.bookedAssignments}/${tech.capacity}`} size="small" />
                    </Space>
                  </List.Item>
                )}
              />
            </Card>
          </Col>
        )}
      </Row>
      <Modal open={!!offering} title={t("offerByHand")} onCancel={() => setOffering(undefined)} onOk={() => offerForm.submit()} okButtonProps={{ id: "offer-submit" }}>
        <Form form={offerForm} layout="vertical" onFinish={offer} onValuesChange={clearEdited(offerForm)}>
          <Form.Item name="technician_id" label={t("technician")}>
            <Select data-testid="offer-technician" options={technicians.map((x) => ({ value: x.technicianId, label: `${x.person?.displayName || x.technicianId} (${x.bookedAssignments}/${x.capacity})` }))} />
          </Form.Item>
          <Form.Item name="reason" label={t("reason")}><Input data-testid="offer-reason" /></Form.Item>
        </Form>
      </Modal>
      <Modal open={!!declining} title={t("decline")} onCancel={() => setDeclining(undefined)} onOk={() => declineForm.submit()}>
        <Form form={declineForm} layout="vertical" onFinish={decline} onValuesChange={clearEdited(declineForm)}>
          <Form.Item name="reason" label={t("reason")}><Input /></Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}
