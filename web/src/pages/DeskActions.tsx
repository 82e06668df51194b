// The office's actions on a ticket, on its case page: acknowledge (which stops the response
// clock), reclassify with a reason, pause the clocks with a reason and resume them, answer a
// consultation remotely, cancel, record the customer's acceptance on their behalf (the
// representative signs in their own name), and archive a case that has ended. Each is offered to the roles the API lets call it, in the
// states it accepts; what the server still refuses is shown at the field or as a message.
import { useState } from "react";
import { Button, Card, Form, Input, Select, Space, Tag } from "antd";
import { CaseState, ProblemCategory } from "../gen/steelcare/common/v1/common_pb";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import { Link } from "react-router";
import { acceptance, intake } from "../api";
import { enumLabel, enumValues, useI18n, type Word } from "../i18n";
import { ErrorAlert, clearEdited, showError } from "../components";
import { hasRole, useSession } from "../session";
import { AcceptanceForm } from "./CustomerActions";

type Action = "acknowledge" | "classify" | "pause" | "resolve" | "cancel";

/** The form's fields, named as the API names them so that a refusal lands at its field. */
interface Fields {
  response_text?: string;
  reason?: string;
  answer?: string;
  category?: number;
  tier?: number;
}

/** The field of each action's text. */
const TEXT_FIELD: Record<Action, "response_text" | "reason" | "answer"> = { acknowledge: "response_text", classify: "reason", pause: "reason", resolve: "answer", cancel: "reason" };

/** The states in which a case has ended and is archived (ArchiveCase's). */
const ARCHIVABLE = [CaseState.ACCEPTED, CaseState.NO_REPAIR, CaseState.RESOLVED_REMOTELY];

/** The states after which nothing is done to a ticket any more. */
const ENDED = [CaseState.ARCHIVED, CaseState.CLOSED, CaseState.RESOLVED_REMOTELY, CaseState.CANCELLED, CaseState.NO_REPAIR];
const EARLY = [CaseState.RECEIVED, CaseState.ACKNOWLEDGED];

/** Which actions `roles` may take on `ticket` now (the API's callers and states). */
function offered(ticket: Ticket, may: (...roles: string[]) => boolean): Action[] {
  const office = may("agent", "engineer", "manager", "admin");
  const ended = ENDED.includes(ticket.state);
  const out: Action[] = [];
  if (office && ticket.state === CaseState.RECEIVED) out.push("acknowledge");
  if (office && EARLY.includes(ticket.state)) out.push("classify");
  if (may("agent", "dispatcher", "engineer", "manager", "admin") && !ended && !ticket.sla?.paused) out.push("pause");
  if (office && EARLY.includes(ticket.state) && ticket.category === ProblemCategory.USAGE_CONSULTATION) out.push("resolve");
  if (may("agent", "manager", "admin") && !ended) out.push("cancel");
  return out;
}

const LABELS: Record<Action, Word> = {
  acknowledge: "acknowledge",
  classify: "reclassify",
  pause: "pauseClocks",
  resolve: "resolveRemotely",
  cancel: "cancelTicket",
};

const TEXT_LABELS: Record<Action, Word> = {
  acknowledge: "firstResponse",
  classify: "reclassifyReason",
  pause: "pauseReason",
  resolve: "remoteAnswer",
  cancel: "cancelReason",
};

export default function DeskActions({ ticket, onChanged }: { ticket: Ticket; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<Fields>();
  const [open, setOpen] = useState<Action>();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const may = (...roles: string[]) => hasRole(session, ...roles);
  const actions = offered(ticket, may);
  const canResume = may("agent", "dispatcher", "engineer", "manager", "admin") && ticket.sla?.paused;
  const canArchive = may("engineer", "manager", "admin") && ARCHIVABLE.includes(ticket.state);
  // The customer's acceptance, recorded at the office or on site on their behalf.
  const canRecordAcceptance = may("agent", "engineer", "admin") && ticket.state === CaseState.SELF_INSPECTED;
  const [archiveId] = useState(() => crypto.randomUUID());
  const [archived, setArchived] = useState("");
  if (!actions.length && !canResume && !canArchive && !archived && !canRecordAcceptance) return null;

  const run = async (call: () => Promise<unknown>) => {
    setBusy(true);
    setError("");
    try {
      await call();
      setOpen(undefined);
      form.resetFields();
      onChanged();
    } catch (err) {
      setError(showError(err, form, t));
    } finally {
      setBusy(false);
    }
  };
  const ticketId = ticket.ticketId;
  const submit = (v: Fields) => {
    const text = (open && v[TEXT_FIELD[open]]) || "";
    const calls: Record<Action, () => Promise<unknown>> = {
      acknowledge: () => intake.acknowledgeTicket({ ticketId, responseText: text }),
      classify: () => intake.classifyTicket({ ticketId, category: v.category ?? 0, tier: v.tier ?? 0, reason: text }),
      pause: () => intake.pauseSla({ ticketId, reason: text }),
      resolve: () => intake.resolveRemotely({ ticketId, answer: text }),
      cancel: () => intake.cancelTicket({ ticketId, reason: text }),
    };
    if (open) void run(calls[open]);
  };
  const start = (action: Action) => {
    setError("");
    form.resetFields();
    if (action === "classify") form.setFieldsValue({ category: ticket.category, tier: ticket.tier });
    setOpen(action);
  };

  return (
    <Card size="small" title={t("deskActions")} data-testid="desk-actions" extra={ticket.sla?.paused && <Tag color="orange" data-testid="clocks-paused">{t("clocksPaused")}</Tag>}>
      <ErrorAlert message={error} />
      <Space wrap>
        {actions.map((a) => (
          <Button key={a} size="large" danger={a === "cancel"} type={open === a ? "primary" : "default"} onClick={() => start(a)} data-testid={`desk-${a}`}>{t(LABELS[a])}</Button>
        ))}
        {canResume && <Button size="large" loading={busy} onClick={() => void run(() => intake.resumeSla({ ticketId }))} data-testid="desk-resume">{t("resumeClocks")}</Button>}
        {canArchive && (
          <Button
            size="large"
            type="primary"
            loading={busy}
            data-testid="desk-archive"
            onClick={() => void run(async () => setArchived((await acceptance.archiveCase({ requestId: archiveId, ticketId })).archive?.archiveNumber ?? ""))}
          >
            {t("archiveCase")}
          </Button>
        )}
        {archived && <Link to={`/archive/${ticketId}`} data-testid="archived">{t("archived")} {archived}</Link>}
      </Space>
      {canRecordAcceptance && (
        <div style={{ marginTop: 12 }}>
          <AcceptanceForm ticket={ticket} onDone={onChanged} onBehalf />
        </div>
      )}
      {open && (
        <Form form={form} layout="vertical" onFinish={submit} onValuesChange={clearEdited(form)} style={{ marginTop: 12 }} data-testid="desk-form">
          {open === "classify" && (
            <Space wrap>
              <Form.Item name="category" label={t("category")} rules={[{ required: true, message: t("required") }]}>
                <Select style={{ minWidth: 200 }} data-testid="desk-category" options={enumValues("ProblemCategory").map((v) => ({ value: v, label: enumLabel(lang, "ProblemCategory", v) }))} />
              </Form.Item>
              <Form.Item name="tier" label={t("tier")} rules={[{ required: true, message: t("required") }]}>
                <Select style={{ minWidth: 160 }} data-testid="desk-tier" options={enumValues("SeverityTier").map((v) => ({ value: v, label: enumLabel(lang, "SeverityTier", v) }))} />
              </Form.Item>
            </Space>
          )}
          <Form.Item name={TEXT_FIELD[open]} label={t(TEXT_LABELS[open])} rules={open === "acknowledge" ? [] : [{ required: true, message: t("required") }]}>
            <Input.TextArea rows={3} data-testid="desk-text" />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" loading={busy} danger={open === "cancel"} data-testid="desk-submit">{t(LABELS[open])}</Button>
            <Button onClick={() => setOpen(undefined)}>{t("back")}</Button>
          </Space>
        </Form>
      )}
    </Card>
  );
}
