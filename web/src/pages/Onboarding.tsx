// Onboarding from spreadsheets: a contractor's customers, projects and technicians in .xlsx or
// .csv. The sheet is checked first (the server's preview lists every row's problems by cell and
// what it would create, change or leave alone); importing writes the valid records and a second
// import of the same sheet changes nothing. Exports give the same shapes back, headers in the
// reader's language.
import { useState } from "react";
import { Alert, Button, Card, Radio, Space, Table, Tag, Typography } from "antd";
import { SheetFormat, type ImportReport, type SheetFile, type SheetProblem } from "../gen/steelcare/common/v1/common_pb";
import { dispatch, intake } from "../api";
import { useI18n, type Word } from "../i18n";
import { ErrorAlert, showError } from "../components";
import { saveBytes } from "../download";

type Kind = "customers" | "projects" | "technicians";

const KINDS: { kind: Kind; label: Word; hint: Word }[] = [
  { kind: "customers", label: "sheetCustomers", hint: "sheetCustomersHint" },
  { kind: "projects", label: "sheetProjects", hint: "sheetProjectsHint" },
  { kind: "technicians", label: "sheetTechnicians", hint: "sheetTechniciansHint" },
];

async function importSheet(kind: Kind, content: Uint8Array, fileName: string, validateOnly: boolean): Promise<ImportReport | undefined> {
  const request = { sheet: { content, fileName }, validateOnly };
  if (kind === "customers") return (await intake.importCustomers(request)).report;
  if (kind === "projects") return (await intake.importProjects(request)).report;
  return (await dispatch.importTechnicians(request)).report;
}

async function exportSheet(kind: Kind, format: SheetFormat): Promise<SheetFile | undefined> {
  if (kind === "customers") return (await intake.exportCustomers({ format })).file;
  if (kind === "projects") return (await intake.exportProjects({ format })).file;
  return (await dispatch.exportTechnicians({ format })).file;
}

function Report({ report }: { report: ImportReport }) {
  const { t } = useI18n();
  const counts: [Word, number, string | undefined][] = [
    [report.validateOnly ? "sheetWouldCreate" : "sheetCreated", report.created, "green"],
    [report.validateOnly ? "sheetWouldUpdate" : "sheetUpdated", report.updated, "blue"],
    ["sheetUnchanged", report.unchanged, undefined],
    ["sheetRefused", report.refused, report.refused ? "red" : undefined],
  ];
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="sheet-report" data-validate-only={report.validateOnly}>
      <Space wrap>
        <Tag data-testid="sheet-rows">{t("sheetRows")} {report.rows}</Tag>
        {counts.map(([word, n, color]) => (
          <Tag key={word} color={color} data-testid={`sheet-${word}`} data-count={n}>{t(word)} {n}</Tag>
        ))}
      </Space>
      {report.problems.length === 0 ? (
        <Alert type="success" showIcon message={t("sheetNoProblems")} />
      ) : (
        <Table<SheetProblem>
          size="small"
          rowKey={(p) => `${p.row}-${p.cell}-${p.field}-${p.message}`}
          dataSource={report.problems}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: true }}
          data-testid="sheet-problems"
          columns={[
            { title: t("sheetCell"), dataIndex: "cell", width: 80 },
            { title: t("sheetColumn"), dataIndex: "column" },
            { title: t("sheetProblem"), dataIndex: "message" },
          ]}
        />
      )}
    </Space>
  );
}

export default function Onboarding() {
  const { t } = useI18n();
  const [kind, setKind] = useState<Kind>("customers");
  const [file, setFile] = useState<{ name: string; content: Uint8Array }>();
  const [report, setReport] = useState<ImportReport>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = async (validateOnly: boolean) => {
    if (!file) return;
    setBusy(true);
    setError("");
    try {
      setReport(await importSheet(kind, file.content, file.name, validateOnly));
    } catch (err) {
      setError(showError(err, undefined, t));
    } finally {
      setBusy(false);
    }
  };
  const download = async (format: SheetFormat) => {
    setError("");
    try {
      const sheet = await exportSheet(kind, format);
      if (sheet) saveBytes([sheet.content], sheet.fileName, sheet.mediaType);
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const choose = (chosen: Kind) => {
    setKind(chosen);
    setReport(undefined);
  };
  const pick = async (input: HTMLInputElement) => {
    const chosen = input.files?.[0];
    setReport(undefined);
    setFile(chosen ? { name: chosen.name, content: new Uint8Array(await chosen.arrayBuffer()) } : undefined);
  };
  const hint = KINDS.find((k) => k.kind === kind)?.hint ?? "sheetCustomersHint";
  // Importing is offered once this very file has been checked.
  const checked = report?.validateOnly === true;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Radio.Group value={kind} onChange={(e) => choose(e.target.value as Kind)} data-testid="sheet-kind">
        {KINDS.map((k) => (
          <Radio.Button key={k.kind} value={k.kind} data-testid={`sheet-kind-${k.kind}`}>{t(k.label)}</Radio.Button>
        ))}
      </Radio.Group>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 0 }}>{t(hint)} {t("sheetOrder")}</Typography.Paragraph>
      <Card size="small" title={t("sheetImportTitle")}>
        <Space wrap>
          <input type="file" accept=".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv" onChange={(e) => void pick(e.currentTarget)} data-testid="sheet-file" aria-label={t("sheetFile")} />
          <Button onClick={() => void run(true)} disabled={!file} loading={busy && !checked} data-testid="sheet-check">{t("sheetCheck")}</Button>
          <Button type="primary" onClick={() => void run(false)} disabled={!file || !checked} loading={busy && checked} data-testid="sheet-import">{t("sheetImport")}</Button>
        </Space>
      </Card>
      <ErrorAlert message={error} />
      {report && <Report report={report} />}
      <Card size="small" title={t("sheetExportTitle")}>
        <Space wrap>
          <Button onClick={() => void download(SheetFormat.XLSX)} data-testid="sheet-export-xlsx">{t("sheetExportXlsx")}</Button>
          <Button onClick={() => void download(SheetFormat.CSV)} data-testid="sheet-export-csv">{t("sheetExportCsv")}</Button>
        </Space>
      </Card>
    </Space>
  );
}
