// The archive: every archived case, its dossier (the documents with their SHA-256 and what is
// missing), verification against tampering, and the export as one file.
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { Alert, Button, Card, Descriptions, Progress, Space, Table, Tag } from "antd";
import type { Archive as ArchiveRecord, VerifyArchiveResponse } from "../gen/steelcare/acceptance/v1/acceptance_service_pb";
import { acceptance } from "../api";
import { enumLabel, useI18n } from "../i18n";
import { ErrorAlert, Time, showError } from "../components";
import { saveStream } from "../download";

function Dossier({ archiveNumber }: { archiveNumber: string }) {
  const { t, lang } = useI18n();
  const [archive, setArchive] = useState<ArchiveRecord>();
  const [verdict, setVerdict] = useState<VerifyArchiveResponse>();
  const [error, setError] = useState("");
  useEffect(() => {
    setVerdict(undefined);
    acceptance.getArchive({ archiveNumber }).then((r) => setArchive(r.archive)).catch((err) => setError(showError(err, undefined, t)));
  }, [archiveNumber, t]);
  const verify = async () => {
    try {
      setVerdict(await acceptance.verifyArchive({ archiveNumber }));
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const exportIt = async () => {
    try {
      await saveStream(acceptance.exportArchive({ archiveNumber }), `${archiveNumber}.zip`, "application/zip");
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  if (!archive) return <Card loading={!error}><ErrorAlert message={error} /></Card>;
  return (
    <Card title={`${t("dossier")} ${archive.archiveNumber}`} extra={<Space><Button onClick={verify} data-testid="verify">{t("verify")}</Button><Button onClick={exportIt} data-testid="export">{t("export")}</Button></Space>}>
      <ErrorAlert message={error} />
      {verdict && (
        <Alert
          style={{ marginBottom: 12 }}
          type={verdict.intact ? "success" : "error"}
          showIcon
          data-testid="verdict"
          message={verdict.intact ? t("verified") : t("tampered")}
          description={verdict.intact ? `manifest ${verdict.manifestSha256}` : verdict.problems.map((p) => `#${p.sequence} ${p.path}: ${p.problem}`).join("; ")}
        />
      )}
      <Descriptions size="small" column={{ xs: 1, md: 2 }}>
        <Descriptions.Item label={t("ticket")}><Link to={`/tickets/${archive.ticketId}`}>{archive.ticketId}</Link></Descriptions.Item>
        <Descriptions.Item label={t("ending")}>{enumLabel(lang, "CaseEnding", archive.ending)}</Descriptions.Item>
        <Descriptions.Item label={t("created")}><Time value={archive.archiveTime} /></Descriptions.Item>
        <Descriptions.Item label={t("manifest")}>{archive.manifestSha256.slice(0, 16)}…</Descriptions.Item>
        <Descriptions.Item label={t("completeness")}><Progress percent={Math.round((archive.completeness?.ratio ?? 0) * 100)} size="small" style={{ width: 160 }} /></Descriptions.Item>
        <Descriptions.Item label={t("missing")}>{archive.completeness?.missing.map((k) => <Tag key={k} color="orange">{enumLabel(lang, "DocumentKind", k)}</Tag>)}</Descriptions.Item>
      </Descriptions>
      <Table
        scroll={{ x: 720 }}
        size="small"
        rowKey="sequence"
        pagination={false}
        dataSource={archive.documents}
        columns={[
          { title: "#", dataIndex: "sequence" },
          { title: t("documentKind"), render: (_, d) => enumLabel(lang, "DocumentKind", d.kind) },
          { title: t("documentTitle"), dataIndex: "title" },
          { title: t("size"), render: (_, d) => `${d.sizeBytes} B` },
          { title: "sha256", render: (_, d) => <code>{d.sha256.slice(0, 16)}…</code> },
        ]}
      />
    </Card>
  );
}

export default function Archive() {
  const { ticketId: archiveNumber } = useParams();
  const { t, lang } = useI18n();
  const [archives, setArchives] = useState<ArchiveRecord[]>([]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const load = (pageToken: string) =>
    acceptance
      .listArchives({ pageSize: 50, pageToken })
      .then((r) => { setArchives((old) => (pageToken ? [...old, ...r.archives] : r.archives)); setNext(r.nextPageToken); })
      .catch((err) => setError(showError(err, undefined, t)));
  useEffect(() => { void load(""); /* eslint-disable-next-line react-hooks/exhaustive-deps */ }, []);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      {archiveNumber && <Dossier archiveNumber={archiveNumber} />}
      <Card title={t("archive")}>
        <Table
          scroll={{ x: 720 }}
          size="small"
          rowKey="archiveNumber"
          pagination={false}
          dataSource={archives}
          columns={[
            { title: t("archive"), render: (_, a) => <Link to={`/archive/${a.archiveNumber}`}>{a.archiveNumber}</Link> },
            { title: t("ending"), render: (_, a) => enumLabel(lang, "CaseEnding", a.ending) },
            { title: t("completeness"), render: (_, a) => `${Math.round((a.completeness?.ratio ?? 0) * 100)}%` },
            { title: t("created"), render: (_, a) => <Time value={a.archiveTime} /> },
          ]}
        />
        {next && <Button style={{ marginTop: 12 }} onClick={() => load(next)}>{t("more")}</Button>}
      </Card>
    </Space>
  );
}
