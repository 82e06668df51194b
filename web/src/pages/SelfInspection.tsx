// The crew's self-inspection of a completed repair (MISSION §6.1): every quality criterion of
// the agreed plan measured, each judged as it is typed with the server's rules, new problems
// and notes. Passing hands the case to the customer's acceptance; failing lists what failed.
import { useState } from "react";
import { Alert, Button, Card, Form, Input, Select, Space } from "antd";
import type { Ticket } from "../gen/steelcare/intake/v1/intake_service_pb";
import type { RepairPlan } from "../gen/steelcare/repair/v1/repair_service_pb";
import type { SelfInspection } from "../gen/steelcare/acceptance/v1/acceptance_service_pb";
import { acceptance } from "../api";
import { enumLabel, enumValues, useI18n } from "../i18n";
import { ErrorAlert, clearEdited, showError } from "../components";
import { Criterion } from "../plan";
import { Verdict, knownInstruments, measured, readings, rememberInstruments, useJudgement, type CheckItem } from "../measure";

interface Draft {
  items?: CheckItem[];
  new_problems?: string;
  notes?: string;
}

export default function SelfInspectionForm({ ticket, plan, offline, onDone }: { ticket: Ticket; plan: RepairPlan; offline: boolean; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<Draft>();
  const [judged, judge] = useJudgement();
  const [result, setResult] = useState<SelfInspection>();
  const [error, setError] = useState("");
  const [requestId, setRequestId] = useState(() => crypto.randomUUID());
  const criteria = (plan.content?.steps ?? []).flatMap((s) => s.qualityCriteria);
  const last = knownInstruments().at(-1);
  const typed = (d: Draft) => judge((d.items ?? []).map((item, i) => (criteria[i] && readings(item.readings).length > 0 ? measured(criteria[i], item) : undefined)));
  const record = async (d: Draft) => {
    setError("");
    rememberInstruments(d.items ?? []);
    try {
      const r = await acceptance.recordSelfInspection({
        requestId,
        ticketId: ticket.ticketId,
        measurements: (d.items ?? []).map((item, i) => measured(criteria[i], item)),
        newProblems: (d.new_problems ?? "").split("\n").map((s) => s.trim()).filter(Boolean),
        notes: d.notes ?? "",
      });
      setResult(r.selfInspection);
      setRequestId(crypto.randomUUID());
      onDone();
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  return (
    <Card size="small" title={t("selfInspection")} data-testid="self-inspection">
      {result && (
        <Alert
          type={result.passed ? "success" : "error"}
          showIcon
          data-testid="self-inspection-result"
          message={result.passed ? t("selfInspectionPassed") : t("selfInspectionFailed")}
          description={result.failures.join("; ")}
          style={{ marginBottom: 12 }}
        />
      )}
      <ErrorAlert message={error} />
      <Form
        form={form}
        layout="vertical"
        size="large"
        onFinish={record}
        initialValues={{ items: criteria.map(() => ({ ...last })) }}
        onValuesChange={(edited, all) => {
          clearEdited(form)(edited);
          typed(all);
        }}
      >
        <Alert type="info" message={t("selfInspectionHelp")} style={{ marginBottom: 12 }} />
        <Form.List name="items">
          {(fields) =>
            fields.map((field) => (
              <Card key={field.key} size="small" type="inner" title={criteria[field.name] && <Criterion item={criteria[field.name]} />}>
                <Form.Item name={[field.name, "location"]} label={t("location")}><Input /></Form.Item>
                <Form.Item name={[field.name, "instrument_kind"]} label={t("instrument")}>
                  <Select options={enumValues("InstrumentKind").map((v) => ({ value: v, label: enumLabel(lang, "InstrumentKind", v) }))} data-testid={`si-instrument-${field.name}`} />
                </Form.Item>
                <Space.Compact block>
                  <Form.Item name={[field.name, "serial"]} label={t("serialNumber")} style={{ flex: 1 }}><Input data-testid={`si-serial-${field.name}`} /></Form.Item>
                  <Form.Item name={[field.name, "calibrated_until"]} label={t("calibratedUntil")} style={{ flex: 1 }}><Input type="date" data-testid={`si-calibrated-${field.name}`} /></Form.Item>
                </Space.Compact>
                <Form.Item name={[field.name, "readings"]} label={t("readings")} extra={t("readingsHelp")}>
                  <Input inputMode="decimal" data-testid={`si-readings-${field.name}`} />
                </Form.Item>
                <Verdict judged={judged.verdicts[field.name]} problem={judged.problems[String(field.name)]} offline={judged.offline || offline} testId={`si-verdict-${field.name}`} />
              </Card>
            ))
          }
        </Form.List>
        <Form.Item name="new_problems" label={t("newProblems")} extra={t("onePerLine")}><Input.TextArea rows={2} data-testid="si-new-problems" /></Form.Item>
        <Form.Item name="notes" label={t("notes")}><Input.TextArea rows={2} data-testid="si-notes" /></Form.Item>
        <Button type="primary" htmlType="submit" block disabled={offline} data-testid="si-submit">{t("recordSelfInspection")}</Button>
      </Form>
    </Card>
  );
}
