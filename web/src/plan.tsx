// A plan version as reviewers and the office read it: every part of its content (objective,
// scope, methods, steps with key steps and their quality criteria, materials with their
// certificates, safety measures, schedule, crew by name, equipment, cost), the approval chain
// with why, and the reviews so far.
import { useEffect, useState } from "react";
import { Descriptions, List, Space, Tag, Typography } from "antd";
import type { Measurement } from "./gen/steelcare/common/v1/common_pb";
import type { PlanContent, RepairPlan } from "./gen/steelcare/repair/v1/repair_service_pb";
import { dispatch } from "./api";
import { enumLabel, useI18n, type Word } from "./i18n";
import { Time, money } from "./components";

/** Technicians' names by id, for staff who may list technicians (others see ids). */
export function useTechnicianNames(): (id: string) => string {
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    dispatch
      .listTechnicians({ pageSize: 500 })
      .then((r) => setNames(Object.fromEntries(r.technicians.map((t) => [t.technicianId, t.person?.displayName || t.technicianId]))))
      .catch(() => setNames({}));
  }, []);
  return (id) => names[id] ?? id;
}

/** A quality criterion in words: what is measured, on which member, within which limits. */
export function Criterion({ item }: { item: Measurement }) {
  const { t, lang } = useI18n();
  const what = item.quantity.case ? t(item.quantity.case as Word) : "";
  const limits = item.judgement ? ` · ${item.judgement.lowerLimit ?? "−∞"} … ${item.judgement.upperLimit ?? "+∞"} ${item.judgement.unit}` : "";
  const source = lang === "zh" ? item.judgement?.sourceZh || item.judgement?.source : item.judgement?.source;
  const clause = source ? ` · ${source}` : "";
  return <span>{what} · {item.member}{item.location ? ` (${item.location})` : ""}{limits}{clause}</span>;
}

/** The parts of a plan's content, each with its label, as a version is compared with the one
 * before. */
const PARTS: [keyof PlanContent, Word][] = [
  ["objective", "objective"],
  ["scope", "scope"],
  ["structuralScope", "structuralScope"],
  ["methods", "methods"],
  ["steps", "steps"],
  ["materials", "materials"],
  ["safetyMeasures", "safetyMeasures"],
  ["schedule", "schedule"],
  ["crewTechnicianIds", "crew"],
  ["equipment", "equipment"],
  ["costEstimate", "costEstimate"],
  ["expectedBearer", "expectedBearer"],
  ["expectedEffect", "expectedEffect"],
  ["disruption", "disruption"],
];

/** What a version changed in the one before: the labels of the parts that differ. Judgements
 * the server adds to criteria are left out (they follow from what was typed). */
export function changedParts(before: PlanContent | undefined, after: PlanContent | undefined): Word[] {
  if (!before || !after) return [];
  const text = (v: unknown) => JSON.stringify(v, (k, x) => (k === "judgement" || k === "$typeName" ? undefined : typeof x === "bigint" ? x.toString() : x));
  return PARTS.filter(([part]) => text(before[part]) !== text(after[part])).map(([, word]) => word);
}

export function PlanDetails({ plan, previous }: { plan: RepairPlan; previous?: RepairPlan }) {
  const { t, lang } = useI18n();
  const name = useTechnicianNames();
  const c = plan.content;
  const list = (items: string[]) => (items.length ? items.join("; ") : "—");
  const changed = previous && previous.version < plan.version ? changedParts(previous.content, c) : [];
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {changed.length > 0 && (
        <div data-testid="plan-changes">
          <Typography.Text strong>{t("whatChanged")}: </Typography.Text>
          {changed.map((w) => <Tag key={w} color="gold">{t(w)}</Tag>)}
        </div>
      )}
      <Descriptions size="small" column={1} bordered>
        <Descriptions.Item label={t("objective")}>{c?.objective}</Descriptions.Item>
        <Descriptions.Item label={t("scope")}>{c?.scope}{c?.structuralScope && <Tag color="volcano" style={{ marginInlineStart: 8 }}>{t("structuralScope")}</Tag>}</Descriptions.Item>
        <Descriptions.Item label={t("methods")}>{c?.methods || "—"}</Descriptions.Item>
        <Descriptions.Item label={t("materials")}>
          {c?.materials.length ? c.materials.map((m, i) => <div key={i}>{m.name} · {m.quantity}{m.certificateRefs.length > 0 && ` · ${t("certificates")}: ${m.certificateRefs.join(", ")}`}</div>) : "—"}
        </Descriptions.Item>
        <Descriptions.Item label={t("safetyMeasures")}>{list(c?.safetyMeasures ?? [])}</Descriptions.Item>
        <Descriptions.Item label={t("schedule")}><Time value={c?.schedule?.startTime} /> – <Time value={c?.schedule?.endTime} /></Descriptions.Item>
        <Descriptions.Item label={t("crew")}><span data-testid="plan-crew">{list((c?.crewTechnicianIds ?? []).map(name))}</span></Descriptions.Item>
        <Descriptions.Item label={t("equipment")}>{list(c?.equipment ?? [])}</Descriptions.Item>
        <Descriptions.Item label={t("costEstimate")}>{money(c?.costEstimate)}{c?.expectedBearer ? ` · ${t("expectedBearer")}: ${enumLabel(lang, "CostBearer", c.expectedBearer)}` : ""}</Descriptions.Item>
        <Descriptions.Item label={t("expectedEffect")}>{c?.expectedEffect || "—"}</Descriptions.Item>
        <Descriptions.Item label={t("disruption")}>{c?.disruption || "—"}</Descriptions.Item>
      </Descriptions>
      <Typography.Text strong>{t("steps")}</Typography.Text>
      <List
        size="small"
        bordered
        dataSource={c?.steps ?? []}
        renderItem={(s) => (
          <List.Item>
            <Space direction="vertical" size={2}>
              <span>{s.keyStep && <Tag color="volcano">{t("keyStep")}</Tag>}{s.description}</span>
              {s.qualityCriteria.map((q, i) => <Typography.Text key={i} type="secondary"><Criterion item={q} /></Typography.Text>)}
            </Space>
          </List.Item>
        )}
      />
      <div data-testid="plan-chain">
        <Typography.Text strong>{t("approvals")}: </Typography.Text>
        {plan.approvalChain.map((s) => enumLabel(lang, "ApprovalStep", s)).join(" → ")}
        {plan.chainReasons.length > 0 && <Typography.Text type="secondary"> · {t("chainWhy")}: {plan.chainReasons.join("; ")}</Typography.Text>}
      </div>
      {plan.reviews.length > 0 && (
        <div>
          <Typography.Text strong>{t("reviewsSoFar")}: </Typography.Text>
          {plan.reviews.map((r) => (
            <div key={r.reviewId}>{enumLabel(lang, "ApprovalStep", r.step)} {r.approved ? "✓" : "✗"} {r.reviewer?.displayName} {r.comments} (<Time value={r.createTime} />)</div>
          ))}
        </div>
      )}
    </Space>
  );
}
