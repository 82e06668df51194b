// Corrective actions (MISSION §8.3): the period's problems by pattern (problem type × location ×
// root cause, largest first, the vital few marked) to raise an action from; the actions with
// their department, owner, due date and status, overdue ones flagged; progress recorded by the
// owner, and verification that closes an action once its window passed with no recurrence (the
// server says why not, when not).
import { useCallback, useEffect, useRef, useState } from "react";
import { Alert, Button, Card, Checkbox, DatePicker, Form, Input, InputNumber, List, Select, Space, Table, Tag, Typography } from "antd";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import dayjs, { type Dayjs } from "dayjs";
import { ProblemCategorySchema } from "../gen/steelcare/common/v1/common_pb";
import { ActionStatus, Department, PeriodBasis, type CorrectiveAction, type ParetoRow } from "../gen/steelcare/feedback/v1/feedback_service_pb";
import { feedback } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, Time, clearEdited, showError } from "../components";
import { hasRole, useSession } from "../session";
import { dayText } from "../time";

/** The ProblemCategory value of a category's stored name ("leakage"). */
function categoryValue(name: string): number {
  return ProblemCategorySchema.values.find((v) => v.name === `PROBLEM_CATEGORY_${name.toUpperCase()}`)?.number ?? 0;
}

/** A calendar date of a picked day. */
const dateOf = (d: Dayjs | undefined) => (d ? { year: d.year(), month: d.month() + 1, day: d.date() } : undefined);

interface RaiseFields {
  department?: number;
  title?: string;
  description?: string;
  owner?: string;
  due_date?: Dayjs;
  verification_days?: number;
  category?: number;
  location?: string;
}

function RaiseForm({ from, onDone }: { from?: ParetoRow; onDone: (flag: string) => void }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<RaiseFields>();
  const ids = useRef(crypto.randomUUID());
  const [members, setMembers] = useState<{ value: string; label: string }[]>([]);
  const [error, setError] = useState("");
  const department = Form.useWatch("department", form);
  useEffect(() => {
    if (!department) return setMembers([]);
    feedback
      .listDepartmentMembers({ department })
      .then((r) => setMembers(r.members.map((m) => ({ value: m.userId, label: m.displayName || m.userId }))))
      .catch((err) => setError(showError(err, undefined, t)));
  }, [department, t]);
  useEffect(() => {
    if (from) form.setFieldsValue({ category: categoryValue(from.category), location: from.location, title: lang === "zh" ? from.labelZh : from.labelEn });
  }, [from, form, lang]);
  const raise = async (v: RaiseFields) => {
    setError("");
    try {
      const owner = members.find((m) => m.value === v.owner);
      const r = await feedback.raiseCorrectiveAction({
        requestId: ids.current,
        department: v.department ?? Department.UNSPECIFIED,
        title: v.title ?? "",
        description: v.description ?? "",
        owner: { userId: v.owner ?? "", displayName: owner?.label ?? "" },
        dueDate: dateOf(v.due_date),
        caseIds: [],
        pattern: { category: v.category ?? 0, location: v.location ?? "" },
        verificationDays: v.verification_days ?? 0,
      });
      ids.current = crypto.randomUUID();
      form.resetFields();
      onDone(r.otherOpenActionIds.length ? `${t("actionRaised")} · ${t("otherOpenActions")}: ${r.otherOpenActionIds.length}` : t("actionRaised"));
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  return (
    <Card size="small" title={t("raiseAction")} data-testid="raise-action">
      <ErrorAlert message={error} />
      <Form form={form} layout="vertical" onFinish={raise} onValuesChange={clearEdited(form)} initialValues={{ verification_days: 90 }}>
        <Space wrap>
          <Form.Item name="category" label={t("category")}>
            <Select style={{ width: 200 }} options={enumValues("ProblemCategory").map((v) => ({ value: v, label: enumLabel(lang, "ProblemCategory", v) }))} />
          </Form.Item>
          <Form.Item name="location" label={t("location")}><Input style={{ width: 200 }} /></Form.Item>
        </Space>
        <Form.Item name="title" label={t("title")}><Input data-testid="action-title" /></Form.Item>
        <Form.Item name="description" label={t("description")}><Input.TextArea rows={2} data-testid="action-description" /></Form.Item>
        <Space wrap>
          <Form.Item name="department" label={t("department")}>
            <Select style={{ width: 180 }} data-testid="action-department" options={enumValues("Department").map((v) => ({ value: v, label: enumLabel(lang, "Department", v) }))} />
          </Form.Item>
          <Form.Item name="owner" label={t("owner")}><Select style={{ width: 200 }} data-testid="action-owner" options={members} /></Form.Item>
          <Form.Item name="due_date" label={t("dueDate")}><DatePicker data-testid="action-due" /></Form.Item>
          <Form.Item name="verification_days" label={t("verificationDays")}><InputNumber min={1} /></Form.Item>
        </Space>
        <Button type="primary" htmlType="submit" data-testid="action-raise">{t("raiseAction")}</Button>
      </Form>
    </Card>
  );
}

interface UpdateFields {
  status?: number;
  note?: string;
  fix_date?: Dayjs;
}

function ActionItem({ action, onChanged }: { action: CorrectiveAction; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [form] = Form.useForm<UpdateFields>();
  const ids = useRef({ update: crypto.randomUUID(), verify: crypto.randomUUID() });
  const [error, setError] = useState("");
  const [updating, setUpdating] = useState(false);
  const closed = action.status === ActionStatus.CLOSED_EFFECTIVE;
  const update = async (v: UpdateFields) => {
    setError("");
    try {
      await feedback.updateCorrectiveAction({ requestId: ids.current.update, actionId: action.actionId, status: v.status ?? 0, note: v.note ?? "", fixDate: dateOf(v.fix_date), fixDateReason: "" });
      ids.current.update = crypto.randomUUID();
      setUpdating(false);
      onChanged();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const verify = async () => {
    setError("");
    try {
      await feedback.verifyCorrectiveAction({ requestId: ids.current.verify, actionId: action.actionId });
      onChanged();
    } catch (err) {
      ids.current.verify = crypto.randomUUID();
      setError(showError(err, undefined, t));
    }
  };
  return (
    <List.Item data-testid="action" data-action={action.actionId}>
      <Space direction="vertical" style={{ width: "100%" }}>
        <Space wrap>
          <b>{action.title}</b>
          <Tag color={closed ? "green" : "blue"} data-testid="action-status">{enumLabel(lang, "ActionStatus", action.status)}</Tag>
          {action.overdue && <Tag color="red" data-testid="action-overdue">{t("overdue")}</Tag>}
          <span>{enumLabel(lang, "Department", action.department)} · {action.owner?.displayName || action.owner?.userId}</span>
          <span>{t("dueDate")} {dayText(action.dueDate)}</span>
        </Space>
        {action.description && <Typography.Text type="secondary">{action.description}</Typography.Text>}
        {action.updates.map((u, i) => (
          <Typography.Text key={i} type="secondary">{enumLabel(lang, "ActionStatus", u.status)} · {u.note} · {u.author?.displayName} <Time value={u.createTime} /></Typography.Text>
        ))}
        <ErrorAlert message={error} />
        {!closed && (
          <Space wrap>
            <Button onClick={() => setUpdating(!updating)} data-testid="action-update">{t("updateAction")}</Button>
            {hasRole(session, "chief_engineer", "manager", "admin") && <Button onClick={verify} data-testid="action-verify">{t("verifyEffective")}</Button>}
          </Space>
        )}
        {updating && (
          <Form form={form} layout="inline" onFinish={update} onValuesChange={clearEdited(form)} style={{ rowGap: 8 }}>
            <Form.Item name="status" label={t("actionStatus")}>
              <Select style={{ width: 160 }} data-testid="action-new-status" options={[ActionStatus.IN_PROGRESS, ActionStatus.FIX_DEPLOYED].map((v) => ({ value: v, label: enumLabel(lang, "ActionStatus", v) }))} />
            </Form.Item>
            <Form.Item name="fix_date" label={t("fixDate")}><DatePicker data-testid="action-fix-date" /></Form.Item>
            <Form.Item name="note" label={t("note")}><Input style={{ width: 260 }} data-testid="action-note" /></Form.Item>
            <Button type="primary" htmlType="submit" data-testid="action-save">{t("updateAction")}</Button>
          </Form>
        )}
      </Space>
    </List.Item>
  );
}

export default function Actions() {
  const { t, lang } = useI18n();
  const session = useSession();
  const [rows, setRows] = useState<ParetoRow[]>([]);
  const [actions, setActions] = useState<CorrectiveAction[]>();
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [from, setFrom] = useState<ParetoRow>();
  const [done, setDone] = useState("");
  const [error, setError] = useState("");
  const mayRaise = hasRole(session, "engineer", "chief_engineer", "manager", "admin");
  const load = useCallback(() => {
    const period = { range: { startTime: timestampFromDate(dayjs().subtract(12, "month").toDate()), endTime: timestampFromDate(new Date()) }, basis: PeriodBasis.CREATED };
    feedback.problemPareto({ period }).then((r) => setRows(r.rows)).catch((err) => setError(showError(err, undefined, t)));
    feedback.listCorrectiveActions({ overdueOnly, pageSize: 200 }).then((r) => setActions(r.actions)).catch((err) => setError(showError(err, undefined, t)));
  }, [overdueOnly, t]);
  useEffect(load, [load]);
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ErrorAlert message={error} />
      {done && <Alert type="success" showIcon message={done} data-testid="action-done" />}
      <Card title={t("pareto")}>
        <Table<ParetoRow>
          size="small"
          scroll={{ x: 720 }}
          pagination={false}
          rowKey={(r) => `${r.category}/${r.location}/${r.rootCause}`}
          dataSource={rows}
          locale={{ emptyText: t("noData") }}
          data-testid="pareto"
          columns={[
            { title: t("pattern"), render: (_, r) => <span>{lang === "zh" ? r.labelZh : r.labelEn} {r.vitalFew && <Tag color="volcano">{t("vitalFew")}</Tag>}</span> },
            { title: t("cases"), dataIndex: "cases", render: (n: bigint) => n.toString() },
            { title: t("share"), render: (_, r) => percent(r.share) },
            { title: t("cumulative"), render: (_, r) => percent(r.cumulativeShare) },
            { title: t("recurrences"), render: (_, r) => r.recurrences.toString() },
            { title: t("correctiveActions"), render: (_, r) => r.openActionIds.length + r.deployedActionIds.length + r.effectiveActionIds.length },
            ...(mayRaise ? [{ title: "", render: (_: unknown, r: ParetoRow) => <Button size="small" onClick={() => setFrom(r)} data-testid="raise-from-row">{t("raiseAction")}</Button> }] : []),
          ]}
        />
      </Card>
      {mayRaise && (
        <RaiseForm
          from={from}
          onDone={(message) => {
            setDone(message);
            setFrom(undefined);
            load();
          }}
        />
      )}
      <Card title={t("correctiveActions")} extra={<Checkbox checked={overdueOnly} onChange={(e) => setOverdueOnly(e.target.checked)}>{t("overdueOnly")}</Checkbox>}>
        <List dataSource={actions ?? []} loading={actions === undefined} locale={{ emptyText: t("noActions") }} renderItem={(a) => <ActionItem action={a} onChanged={load} />} />
      </Card>
    </Space>
  );
}
