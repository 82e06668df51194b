// The satisfaction survey's questions (MISSION §8.2): the five dimensions SatisfactionScores
// names, an optional overall score and a comment; asked of the customer in their console, or by
// an agent on a return visit.
import { Form, Input, Rate } from "antd";
import { useI18n, type Word } from "./i18n";

export interface Scores {
  response_speed?: number;
  professional_competence?: number;
  service_attitude?: number;
  fix_effect?: number;
  communication?: number;
  overall?: number;
  comment?: string;
}

/** The five dimensions, in MISSION's order. */
const DIMENSIONS: [keyof Scores, Word][] = [
  ["response_speed", "responseSpeed"],
  ["professional_competence", "professionalCompetence"],
  ["service_attitude", "serviceAttitude"],
  ["fix_effect", "fixEffect"],
  ["communication", "communication"],
];

/** The survey's form items: each dimension required, the overall score and the comment not. */
export function ScoreItems() {
  const { t } = useI18n();
  return (
    <>
      {DIMENSIONS.map(([name, word]) => (
        <Form.Item key={name} name={name} label={t(word)} rules={[{ required: true, message: t("required") }]}>
          <Rate data-testid={`rate-${name}`} style={{ fontSize: 28 }} />
        </Form.Item>
      ))}
      <Form.Item name="overall" label={t("overallOptional")}><Rate style={{ fontSize: 28 }} /></Form.Item>
      <Form.Item name="comment" label={t("comment")}><Input.TextArea rows={3} data-testid="rate-comment" /></Form.Item>
    </>
  );
}

/** The answers as SatisfactionScores. */
export function scoresOf(v: Scores) {
  return {
    responseSpeed: v.response_speed ?? 0,
    professionalCompetence: v.professional_competence ?? 0,
    serviceAttitude: v.service_attitude ?? 0,
    fixEffect: v.fix_effect ?? 0,
    communication: v.communication ?? 0,
    overall: v.overall || undefined,
  };
}
