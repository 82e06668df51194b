// The experience base in the console: the search page over every case the reader may see,
// and the panel of similar earlier cases shown where the work is done (a new ticket's reply,
// the survey, the plan editor), with why each is shown, its cause, fix, cost and whether it
// came back, the standard repairs, and a possible recurrence for the agent to decide.
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { Button, Card, Empty, Input, List, Select, Space, Tag, Typography } from "antd";
import type { CaseHit, CaseSummary, Highlight, SimilarCasesResponse } from "./gen/steelcare/feedback/v1/experience_pb";
import { CaseOutcome, RecurrenceState } from "./gen/steelcare/feedback/v1/experience_pb";
import { Code, feedback, isCode } from "./api";
import { enumLabel, enumValues, useI18n } from "./i18n";
import { EnumTag, ErrorAlert, Time, money, showError } from "./components";
import { hasRole, useSession } from "./session";

/** The words of a fragment, the query's words marked. */
function Fragment({ h }: { h: Highlight }) {
  return (
    <Typography.Paragraph style={{ marginBottom: 4 }} data-testid="highlight">
      {h.segments.map((s, i) => (s.matched ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>))}
    </Typography.Paragraph>
  );
}

/** What the experience base says of one case. */
function CaseLine({ c, extra }: { c: CaseSummary; extra?: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size={2} style={{ width: "100%", minWidth: 0 }}>
      <Space wrap size={4}>
        <Link to={`/tickets/${c.ticketId}`} data-testid="case-number">{c.acceptanceNumber}</Link>
        <Typography.Text type="secondary">{c.projectName}</Typography.Text>
        <EnumTag name="ProblemCategory" value={c.category} />
        {c.memberTypeLabel && <Tag>{c.memberTypeLabel}</Tag>}
        <EnumTag name="CaseState" value={c.state} />
        {c.recurred && <Tag color="red" data-testid="recurred">{t("cameBack")}</Tag>}
        {c.standardRepair && <Tag color="green" data-testid="standard">{t("standardRepair")}</Tag>}
        <Typography.Text type="secondary"><Time value={c.createTime} /></Typography.Text>
      </Space>
      <Typography.Text style={{ overflowWrap: "anywhere" }}>{c.phenomenon}</Typography.Text>
      {c.rootCause !== 0 && <span>{t("rootCause")}: <EnumTag name="RootCause" value={c.rootCause} /></span>}
      {c.fix && <Typography.Text style={{ overflowWrap: "anywhere" }}>{t("theFix")}: {c.fix}</Typography.Text>}
      {c.cost && <Typography.Text>{t("cost")}: {money(c.cost)}</Typography.Text>}
      {c.standardNote && <Typography.Text type="success">{c.standardNote}</Typography.Text>}
      {extra}
    </Space>
  );
}

/** The similar earlier cases of `ticketId`, for staff; `quiet` on a device that may be
 * offline (the survey on site): a failed look shows nothing rather than an error. */
export function SimilarCases({ ticketId, quiet }: { ticketId: string; quiet?: boolean }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [found, setFound] = useState<SimilarCasesResponse>();
  const [error, setError] = useState("");
  // Looked at again each second while the index has not taken the case in (a ticket seconds
  // old): its recurrence check runs then. A minute at most: a follower that is down is for
  // health to report, not this panel.
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const shown = useRef(true);
  const looks = useRef(0);
  const load = useCallback(() => {
    clearTimeout(timer.current);
    const later = () => {
      looks.current += 1;
      if (shown.current && looks.current < 60) timer.current = setTimeout(load, 1000);
    };
    feedback
      .similarCases({ ticketId, pageSize: 5 })
      .then((r) => {
        setFound(r);
        if (r.pending) later();
      })
      .catch((err) => {
        if (isCode(err, Code.Unavailable)) later();
        else if (!quiet) setError(showError(err, undefined, t));
      });
  }, [ticketId, t, quiet]);
  useEffect(() => {
    shown.current = true;
    looks.current = 0;
    load();
    return () => {
      shown.current = false;
      clearTimeout(timer.current);
    };
  }, [load]);
  const decide = async (confirmed: boolean) => {
    setError("");
    try {
      await feedback.decideRecurrence({ ticketId, confirmed });
      load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  const flag = found?.recurrence;
  const mayDecide = hasRole(session, "agent", "manager", "admin");
  return (
    <Card size="small" title={t("similarCases")} data-testid="similar-cases" style={{ marginTop: 16 }}>
      <ErrorAlert message={error} />
      {flag && (
        <Card size="small" type="inner" data-testid="recurrence" style={{ marginBottom: 8, borderColor: flag.state === RecurrenceState.POSSIBLE ? "#faad14" : undefined }}>
          <Space wrap>
            <EnumTag name="RecurrenceState" value={flag.state} color={flag.state === RecurrenceState.CONFIRMED ? "red" : "gold"} />
            <Link to={`/tickets/${flag.originalTicketId}`}>{flag.originalAcceptanceNumber}</Link>
            {flag.reasons.map((r) => <Tag key={r}>{enumLabel(lang, "SimilarityReason", r)}</Tag>)}
            {flag.state === RecurrenceState.POSSIBLE && mayDecide && (
              <>
                <Button size="small" danger onClick={() => void decide(true)} data-testid="confirm-recurrence">{t("confirmRecurrence")}</Button>
                <Button size="small" onClick={() => void decide(false)} data-testid="reject-recurrence">{t("rejectRecurrence")}</Button>
              </>
            )}
          </Space>
        </Card>
      )}
      {found && found.cases.length === 0 && <Empty description={t("noSimilarCases")} />}
      {/* Only with cases: an empty list would say "no data" a second time under the panel's own. */}
      {(found?.cases.length ?? 0) > 0 && (
        <List
          size="small"
          dataSource={found?.cases ?? []}
          renderItem={(s) => (
            <List.Item data-testid="similar-case">
              {s.case && (
                <CaseLine
                  c={s.case}
                  extra={
                    <Space wrap size={4}>
                      {s.reasons.map((r) => <Tag color="blue" key={r}>{enumLabel(lang, "SimilarityReason", r)}</Tag>)}
                      {s.matchedTerms.length > 0 && <Typography.Text type="secondary">{t("sharedWords")}: {s.matchedTerms.join(" · ")}</Typography.Text>}
                    </Space>
                  }
                />
              )}
            </List.Item>
          )}
        />
      )}
      {(found?.standardRepairs.length ?? 0) > 0 && (
        <>
          <Typography.Title level={5}>{t("standardRepairs")}</Typography.Title>
          <List size="small" dataSource={found?.standardRepairs ?? []} renderItem={(c) => <List.Item data-testid="standard-repair"><CaseLine c={c} /></List.Item>} />
        </>
      )}
    </Card>
  );
}

/** Marks a case's repair as the standard repair for its kind of defect (engineers, managers). */
export function MarkStandard({ ticketId }: { ticketId: string }) {
  const { t } = useI18n();
  const [note, setNote] = useState("");
  const [done, setDone] = useState<boolean>();
  const [error, setError] = useState("");
  const mark = async (standard: boolean) => {
    setError("");
    try {
      const r = await feedback.markStandardRepair({ ticketId, standard, note });
      setDone(r.case?.standardRepair ?? standard);
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Input.TextArea rows={2} value={note} onChange={(e) => setNote(e.target.value)} placeholder={t("standardNote")} data-testid="standard-note" />
      <Space wrap>
        <Button onClick={() => void mark(true)} data-testid="mark-standard">{t("markStandard")}</Button>
        <Button onClick={() => void mark(false)}>{t("unmarkStandard")}</Button>
        {done !== undefined && <Tag color={done ? "green" : undefined}>{done ? t("standardRepair") : t("notStandard")}</Tag>}
      </Space>
    </Space>
  );
}

/** The search page: words in Chinese or English, a category and an outcome, pages of hits. */
export default function SearchPage() {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState(0);
  const [outcome, setOutcome] = useState(CaseOutcome.UNSPECIFIED);
  const [hits, setHits] = useState<CaseHit[]>();
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const run = async (pageToken: string) => {
    setError("");
    try {
      const r = await feedback.searchCases({ query, filter: { category, outcome }, pageSize: 20, pageToken });
      setHits((h) => (pageToken ? [...(h ?? []), ...r.hits] : r.hits));
      setTotal(r.totalSize);
      setNext(r.nextPageToken);
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Card title={t("experienceBase")}>
      <ErrorAlert message={error} />
      <Space wrap style={{ width: "100%", marginBottom: 12 }}>
        <Input.Search
          data-testid="case-search"
          style={{ width: "min(420px, 100%)" }}
          placeholder={t("searchCasesHint")}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onSearch={() => void run("")}
          enterButton={t("search")}
        />
        <Select
          style={{ width: 180 }}
          value={category}
          onChange={setCategory}
          options={[{ value: 0, label: t("anyCategory") }, ...enumValues("ProblemCategory").map((v) => ({ value: v, label: enumLabel(lang, "ProblemCategory", v) }))]}
        />
        <Select
          style={{ width: 160 }}
          value={outcome}
          onChange={setOutcome}
          data-testid="outcome-filter"
          options={[{ value: 0, label: t("anyOutcome") }, ...enumValues("CaseOutcome").map((v) => ({ value: v, label: enumLabel(lang, "CaseOutcome", v) }))]}
        />
      </Space>
      {hits && <Typography.Text type="secondary" data-testid="found-count">{t("found")} {total}</Typography.Text>}
      {hits && hits.length === 0 && <Empty description={t("nothingFound")} />}
      {hits && hits.length > 0 && (
        <List
          dataSource={hits}
          renderItem={(h) => (
            <List.Item data-testid="case-hit">
              {h.case && <CaseLine c={h.case} extra={h.highlights.map((x, i) => <Fragment key={i} h={x} />)} />}
            </List.Item>
          )}
        />
      )}
      {next && <Button onClick={() => void run(next)} data-testid="more-hits">{t("more")}</Button>}
    </Card>
  );
}
