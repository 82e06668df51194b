// Statistics: the problem breakdown, SLA compliance, case outcomes and staff KPIs as charts,
// each downloadable as the server's CSV.
import { useCallback, useEffect, useState } from "react";
import { Button, Card, Col, DatePicker, Row, Select, Space, Statistic, Table } from "antd";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import dayjs, { type Dayjs } from "dayjs";
import { Dimension, KpiSubject, PeriodBasis, Report, type BreakdownRow, type CaseOutcomesResponse, type KpiRow, type SlaComplianceRow } from "../gen/steelcare/feedback/v1/feedback_service_pb";
import { useTechnicianNames } from "../plan";
import { SlaClockKind } from "../gen/steelcare/events/v1/events_pb";
import { feedback, isCode, Code } from "../api";
import { enumLabel, useI18n, type Word } from "../i18n";
import { ErrorAlert, showError } from "../components";
import { useSession } from "../session";
import { inZone } from "../time";
import { saveStream } from "../download";

const DIMENSIONS = [Dimension.CATEGORY, Dimension.LOCATION, Dimension.ROOT_CAUSE, Dimension.RESPONSIBLE_PARTY, Dimension.PROJECT, Dimension.STRUCTURE_TYPE, Dimension.MONTH];

export default function Stats() {
  const { t, lang } = useI18n();
  // A share of no cases is no figure: it says so rather than 0 %.
  const share = (x: number | undefined) => (Number(outcomes?.total?.cases ?? 0) === 0 ? t("noData") : `${Math.round((x ?? 0) * 1000) / 10} %`);
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [dayjs().subtract(12, "month"), dayjs().add(1, "day")]);
  const [dimension, setDimension] = useState(Dimension.CATEGORY);
  const [breakdown, setBreakdown] = useState<BreakdownRow[]>([]);
  const [total, setTotal] = useState(0);
  const [compliance, setCompliance] = useState<SlaComplianceRow[]>([]);
  const [outcomes, setOutcomes] = useState<CaseOutcomesResponse>();
  const [kpis, setKpis] = useState<KpiRow[]>([]);
  const [error, setError] = useState("");

  const { timeZone } = useSession();
  const [subject, setSubject] = useState(KpiSubject.TECHNICIAN);
  // Whole days in the configured zone.
  const period = useCallback(() => ({
    range: {
      startTime: timestampFromDate(inZone(range[0].startOf("day"), timeZone)),
      endTime: timestampFromDate(inZone(range[1].endOf("day"), timeZone)),
    },
    basis: PeriodBasis.CREATED,
  }), [range, timeZone]);

  useEffect(() => {
    setError("");
    const p = period();
    const fail = (err: unknown) => setError(showError(err, undefined, t));
    feedback.problemBreakdown({ period: p, dimension, top: 12 }).then((r) => { setBreakdown(r.rows); setTotal(Number(r.totalCases)); }).catch(fail);
    feedback.slaCompliance({ period: p }).then((r) => setCompliance(r.rows)).catch(fail);
    feedback.caseOutcomes({ period: p, monthly: true }).then(setOutcomes).catch(fail);
    feedback.staffKpis({ period: p, subject }).then((r) => setKpis(r.rows)).catch((err) => { if (!isCode(err, Code.PermissionDenied)) fail(err); });
  }, [period, dimension, subject, t]);

  const csv = async (report: Report) => {
    try {
      await saveStream(
        feedback.exportCsv({ report, period: period(), dimension, subject }),
        `${Report[report].toLowerCase()}.csv`,
        "text/csv",
      );
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const download = (report: Report) => <Button size="small" onClick={() => csv(report)} data-testid={`csv-${Report[report].toLowerCase()}`}>{t("downloadCsv")}</Button>;

  const complianceData = [SlaClockKind.RESPONSE, SlaClockKind.ARRIVAL, SlaClockKind.SOLUTION, SlaClockKind.COMPLETION].map((clock) => {
    const row: Record<string, string | number> = { clock: t(`clock_${SlaClockKind[clock].toLowerCase()}` as never) };
    // A tier with no stopped clock has no compliance: no bar, rather than a bar at 0 %.
    for (const r of compliance.filter((c) => c.clock === clock && Number(c.met) + Number(c.breached) > 0)) row[enumLabel(lang, "SeverityTier", r.tier)] = Math.round(r.compliance * 1000) / 10;
    return row;
  });
  const tiers = [...new Set(compliance.map((c) => enumLabel(lang, "SeverityTier", c.tier)))];
  const colors = ["#cf1322", "#d48806", "#1f5fa8", "#389e0d"];
  // A month with no case has no on-time share (a gap in the line, not a fall to 0).
  const months = (outcomes?.months ?? []).map((m) => ({ month: m.month, cases: Number(m.cases), onTime: Number(m.cases) === 0 ? null : Math.round(m.onTimeShare * 1000) / 10 }));
  const technicianName = useTechnicianNames();
  const kpiSubject = (id: string) => (subject === KpiSubject.TECHNICIAN ? technicianName(id) : id);
  const kpiShare = (r: KpiRow, x: number) => (Number(r.cases) === 0 ? t("noData") : `${Math.round(x * 100)}%`);

  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Space>
        <DatePicker.RangePicker value={range} onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])} />
      </Space>
      <Row gutter={16}>
        <Col xs={24} lg={12}>
          <Card title={`${t("breakdown")} · ${total} ${t("cases")}`} extra={<Space><Select value={dimension} onChange={setDimension} style={{ width: 180 }} options={DIMENSIONS.map((d) => ({ value: d, label: t(`dim_${Dimension[d]}` as Word) }))} />{download(Report.PROBLEM_BREAKDOWN)}</Space>}>
            <div data-testid="chart-breakdown" style={{ height: 300 }}>
              <ResponsiveContainer>
                <BarChart data={breakdown.map((r) => ({ label: lang === "zh" ? r.labelZh || r.key : r.labelEn || r.key, cases: r.cases }))} layout="vertical" margin={{ left: 40 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis type="number" allowDecimals={false} />
                  <YAxis type="category" dataKey="label" width={120} />
                  <Tooltip />
                  <Bar dataKey="cases" name={t("cases")} fill="#1f5fa8" />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={`${t("compliance")} %`} extra={download(Report.SLA_COMPLIANCE)}>
            <div data-testid="chart-compliance" style={{ height: 300 }}>
              <ResponsiveContainer>
                <BarChart data={complianceData}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="clock" />
                  <YAxis domain={[0, 100]} />
                  <Tooltip />
                  <Legend />
                  {tiers.map((tier, i) => <Bar key={tier} dataKey={tier} fill={colors[i % colors.length]} />)}
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={t("outcomes")} extra={download(Report.CASE_OUTCOMES)} style={{ marginTop: 16 }}>
            <Space size="large" wrap>
              <Statistic title={t("cases")} value={Number(outcomes?.total?.cases ?? 0)} />
              <Statistic title={t("onTime")} value={share(outcomes?.total?.onTimeShare)} data-testid="on-time" />
              <Statistic title={t("recurrence")} value={share(outcomes?.total?.recurrenceRate)} />
              <Statistic title={t("rework")} value={share(outcomes?.total?.reworkRate)} />
              <Statistic title={t("satisfaction")} value={Number(outcomes?.total?.satisfaction?.surveys ?? 0) === 0 ? t("noData") : Math.round((outcomes?.total?.satisfaction?.mean ?? 0) * 10) / 10} />
            </Space>
            <div style={{ height: 240 }}>
              <ResponsiveContainer>
                <LineChart data={months}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="month" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Line dataKey="cases" name={t("cases")} stroke="#1f5fa8" />
                  <Line dataKey="onTime" name={`${t("onTime")} %`} stroke="#389e0d" />
                </LineChart>
              </ResponsiveContainer>
            </div>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card
            title={t("kpis")}
            extra={
              <Space>
                <Select
                  value={subject}
                  onChange={setSubject}
                  style={{ width: 130 }}
                  options={[KpiSubject.TECHNICIAN, KpiSubject.TEAM, KpiSubject.AGENT].map((k) => ({ value: k, label: t(`kpi_${KpiSubject[k]}` as Word) }))}
                />
                {download(Report.STAFF_KPIS)}
              </Space>
            }
            style={{ marginTop: 16 }}
          >
            <Table
              scroll={{ x: 720 }}
              size="small"
              rowKey="subject"
              pagination={false}
              dataSource={kpis}
              columns={[
                { title: t(`kpi_${KpiSubject[subject]}` as Word), render: (_, r) => kpiSubject(r.subject) },
                { title: t("cases"), render: (_, r) => Number(r.cases) },
                { title: t("onTime"), render: (_, r) => kpiShare(r, r.onTimeShare) },
                { title: t("firstTimeAcceptance"), render: (_, r) => kpiShare(r, r.firstTimeAcceptance) },
                // Scores run from 1 to 5: 0 is no survey.
                { title: t("satisfaction"), render: (_, r) => (r.satisfaction > 0 ? r.satisfaction.toFixed(1) : t("noData")) },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </Space>
  );
}
