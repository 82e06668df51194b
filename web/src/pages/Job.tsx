// A technician's job on site, phone first: where to go (with a map link), arrival with the
// device's position, then the survey report (./SurveyReport) or, once the agreement is signed,
// the crew's repair (./RepairWork). The job as last read is kept on the device, so a page
// reloaded with no network still shows it.
import { useCallback, useEffect, useState } from "react";
import { useParams } from "react-router";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { Alert, Button, Card, Space, Typography } from "antd";
import { AssignmentSchema, AssignmentState, type Assignment } from "../gen/steelcare/dispatch/v1/dispatch_service_pb";
import { ProjectSchema, TicketSchema, type Project, type Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { CaseState } from "../gen/steelcare/common/v1/common_pb";
import { Code, dispatch, intake, isCode } from "../api";
import { useI18n } from "../i18n";
import { ErrorAlert, Time, showError, useLatest } from "../components";
import { hasRole, useSession } from "../session";
import { useOutbox } from "../outbox";
import { position, syncMyInstruments } from "../measure";
import RepairWork from "./RepairWork";
import SurveyReport from "./SurveyReport";

const jobKey = (ticketId: string) => `steelcare.job.${ticketId}`;

/** Keeps the job as last read, for opening it with no network. */
function saveJob(ticketId: string, ticket?: Ticket, project?: Project, assignment?: Assignment) {
  localStorage.setItem(
    jobKey(ticketId),
    JSON.stringify({
      ticket: ticket && toJson(TicketSchema, ticket),
      project: project && toJson(ProjectSchema, project),
      assignment: assignment && toJson(AssignmentSchema, assignment),
    }),
  );
}

function savedJob(ticketId: string): { ticket?: Ticket; project?: Project; assignment?: Assignment } | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(jobKey(ticketId)) ?? "null");
    if (!saved) return undefined;
    return {
      ticket: saved.ticket && fromJson(TicketSchema, saved.ticket),
      project: saved.project && fromJson(ProjectSchema, saved.project),
      assignment: saved.assignment && fromJson(AssignmentSchema, saved.assignment),
    };
  } catch {
    return undefined;
  }
}

export default function Job() {
  const { ticketId = "" } = useParams();
  const { t } = useI18n();
  const session = useSession();
  const [ticket, setTicket] = useState<Ticket>();
  const [project, setProject] = useState<Project>();
  const [assignment, setAssignment] = useState<Assignment>();
  const [error, setError] = useState("");
  const [offline, setOffline] = useState(false);
  const surveysWaiting = useOutbox().filter((e) => e.ticketId === ticketId && e.kind === "survey").length;

  const latest = useLatest();
  const load = useCallback(async () => {
    const current = latest();
    try {
      const [tk, mine] = await Promise.all([
        intake.getTicket({ ticketId }),
        dispatch.listAssignments({ pageSize: 10, ticketId, states: [AssignmentState.OFFERED, AssignmentState.CONFIRMED, AssignmentState.ARRIVED, AssignmentState.COMPLETED] }),
      ]);
      const found = mine.assignments.find((a) => a.ticketId === ticketId && a.technicianId === session.subject);
      const pj = tk.ticket?.projectId ? (await intake.getProject({ projectId: tk.ticket.projectId })).project : undefined;
      if (!current()) return;
      setTicket(tk.ticket);
      setAssignment(found);
      setProject(pj);
      saveJob(ticketId, tk.ticket, pj, found);
      setOffline(false);
      setError("");
    } catch (err) {
      if (!current()) return;
      // No network: the job as this device last read it.
      const saved = isCode(err, Code.Unknown) || isCode(err, Code.Unavailable) ? savedJob(ticketId) : undefined;
      if (saved) {
        setTicket(saved.ticket);
        setProject(saved.project);
        setAssignment(saved.assignment);
        setOffline(true);
        setError("");
      } else {
        setError(showError(err, undefined, t));
      }
    }
  }, [ticketId, session.subject, t, latest]);
  useEffect(() => { void load(); }, [load]);
  // The technician's registered instruments, kept on the device for the forms (offline too).
  useEffect(() => {
    if (hasRole(session, "technician")) syncMyInstruments(session.subject).catch(() => undefined);
  }, [session]);
  // When the survey report has arrived, the case has moved on: read it again.
  useEffect(() => { if (surveysWaiting === 0) void load(); }, [surveysWaiting, load]);
  // Opened with no network, the job is read when the connection returns.
  useEffect(() => {
    const online = () => void load();
    window.addEventListener("online", online);
    return () => window.removeEventListener("online", online);
  }, [load]);

  const arrive = async () => {
    if (!assignment) return;
    try {
      const where = await position();
      await dispatch.recordArrival({ assignmentId: assignment.assignmentId, position: where });
      await load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };

  const arrived = !!assignment?.arriveTime;
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="middle">
      <ErrorAlert message={error} />
      {offline && <Alert type="info" showIcon message={t("offlineSaved")} data-testid="offline" />}
      <Site ticket={ticket} project={project} assignment={assignment} />
      {(assignment || ticket?.state === CaseState.SURVEY_SCHEDULED) && (
        <Card size="small" title={t("arrival")}>
          {arrived ? (
            <Typography.Text data-testid="arrived">{t("arrivedAt")} <Time value={assignment?.arriveTime} /></Typography.Text>
          ) : (
            <Button type="primary" size="large" block onClick={arrive} disabled={!assignment} data-testid="record-arrival">{t("recordArrival")}</Button>
          )}
        </Card>
      )}
      <SurveyReport ticketId={ticketId} label={ticket?.acceptanceNumber ?? ticketId} arriveTime={assignment?.arriveTime} state={ticket?.state} />
      {ticket && [CaseState.AGREED, CaseState.IN_REPAIR, CaseState.SELF_INSPECTED].includes(ticket.state) && (
        <RepairWork ticket={ticket} offline={offline} onChanged={load} />
      )}
    </Space>
  );
}

/** Where to go: the case, the project's address with a map link, the arrival deadline. */
function Site({ ticket, project, assignment }: { ticket?: Ticket; project?: Project; assignment?: Assignment }) {
  const { t } = useI18n();
  const address = project?.address;
  const where = address?.position;
  return (
    <Card size="small" title={<span data-testid="job-number">{ticket?.acceptanceNumber}</span>}>
      <Space direction="vertical" size={4} style={{ width: "100%" }}>
        <Typography.Text strong>{ticket?.description?.phenomenon}</Typography.Text>
        <Typography.Text>{project?.name}</Typography.Text>
        <Typography.Text type="secondary" data-testid="job-address">
          {[address?.province, address?.city, address?.district, address?.street].filter(Boolean).join(" ")}
        </Typography.Text>
        {where && (
          <a href={`https://uri.amap.com/marker?position=${where.longitude},${where.latitude}&name=${encodeURIComponent(project?.name ?? "")}`} target="_blank" rel="noreferrer" data-testid="map-link">
            {t("openMap")}
          </a>
        )}
        {assignment && <Typography.Text type="secondary">{t("deadline")} <Time value={assignment.arrivalDeadlineTime} /></Typography.Text>}
      </Space>
    </Card>
  );
}
