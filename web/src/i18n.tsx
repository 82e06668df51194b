// Chinese and English: the console's own words (its menus and buttons). What the server writes (replies, errors, enum labels) comes from the server in the chosen language.
import { createContext, useContext } from "react";
import { CaseStateSchema, InstrumentKindSchema, ProblemCategorySchema, ResponsiblePartySchema, RootCauseSchema, SeverityTierSchema, SlaStatusSchema } from "./gen/steelcare/common/v1/common_pb";
import { ChannelSchema, StructureTypeSchema } from "./gen/steelcare/intake/v1/intake_service_pb";
import { AssignmentStateSchema } from "./gen/steelcare/dispatch/v1/dispatch_service_pb";
import { CaseEndingSchema, DocumentKindSchema } from "./gen/steelcare/acceptance/v1/acceptance_service_pb";
import { ApprovalStepSchema, PlanStatusSchema } from "./gen/steelcare/repair/v1/repair_service_pb";

export type Lang = "zh" | "en";

const words = {
  appName: ["钢结构售后服务", "SteelCare after-sales"],
  signIn: ["登录", "Sign in"],
  signOut: ["退出", "Sign out"],
  token: ["访问令牌", "Access token"],
  tokenHelp: ["粘贴管理员签发的令牌（steelcare token --role …）", "Paste the token your administrator issued (steelcare token --role …)"],
  tokenExpired: ["令牌已过期", "Your token has expired"],
  tokenExpiredHelp: ["请向管理员申请新令牌后重新登录。", "Ask your administrator for a new token and sign in again."],
  tokenRejected: ["令牌无效", "The token was not accepted"],
  signInAgain: ["重新登录", "Sign in again"],
  withPassword: ["账号密码", "Password"],
  menu: ["菜单", "Menu"],
  onSite: ["现场作业", "On site"],
  planToDecide: ["待您确认的维修方案", "The repair plan for your decision"],
  objective: ["目标", "Objective"],
  schedule: ["工期", "Schedule"],
  costEstimate: ["费用估算", "Cost estimate"],
  disruption: ["对使用的影响", "Disruption to your use"],
  changesWanted: ["希望修改的内容及原因", "What should change, and why"],
  askForChanges: ["要求修改方案", "Ask for changes"],
  agreeToPlan: ["同意此方案", "Agree to this plan"],
  planAgreed: ["已同意方案，我们将准备维修协议", "You agreed to the plan; we will prepare the agreement"],
  changesAsked: ["已提交修改意见", "Your changes were sent"],
  acceptanceForm: ["验收确认", "Acceptance"],
  itemsToRectify: ["需整改的项目，每行一项", "What must be rectified, one item per line"],
  askForRectification: ["不通过，要求整改", "Not accepted: ask for rectification"],
  signToAccept: ["请在下方签名确认验收通过", "Sign below to accept the repair"],
  signAcceptance: ["签名确认验收", "Sign the acceptance"],
  acceptanceSigned: ["已签署验收", "The acceptance is signed"],
  rectificationAsked: ["已提交整改要求", "Your rectification items were sent"],
  satisfactionSurvey: ["满意度评价", "Satisfaction survey"],
  responseSpeed: ["响应速度", "Speed of response"],
  professionalCompetence: ["专业能力", "Professional competence"],
  serviceAttitude: ["服务态度", "Service attitude"],
  fixEffect: ["维修效果", "Effect of the fix"],
  communication: ["沟通协调", "Communication and coordination"],
  overallOptional: ["总体评价（可选）", "Overall (optional)"],
  comment: ["意见和建议", "Comments"],
  sendRating: ["提交评价", "Send"],
  thanksForRating: ["感谢您的评价", "Thank you for your answers"],
  keyStep: ["关键工序", "key step"],
  noPlanYet: ["尚无已签约的维修方案", "No agreed repair plan yet"],
  criteria: ["质量标准", "Criteria"],
  agreedPlan: ["已签约方案的工序", "The agreed plan's steps"],
  keyStepInspection: ["关键工序检验", "Key-step inspection"],
  step: ["工序", "Step"],
  workDone: ["施工内容", "Work done"],
  material: ["材料", "Material"],
  materialQuantity: ["用量", "Quantity"],
  batch: ["批号", "Batch"],
  certificate: ["合格证编号", "Certificate"],
  crew: ["施工人员", "Crew"],
  problems: ["问题", "Problems"],
  handling: ["处理", "Handling"],
  progressPercent: ["进度（%）", "Progress (%)"],
  logWork: ["记录施工日志", "Log the work"],
  criterion: ["检验项", "Criterion"],
  notes: ["备注", "Notes"],
  recordInspection: ["记录检验", "Record the inspection"],
  workDoneSoFar: ["施工记录", "Work so far"],
  nothingYet: ["暂无记录", "Nothing recorded yet"],
  completeRepair: ["维修完工", "Complete the repair"],
  repairCompleted: ["维修已完工", "Repair completed"],
  completionSummary: ["完工说明", "What was done, in a sentence or two"],
  offlineSaved: ["无网络：显示本机上次保存的内容，记录将在恢复网络后发送", "No network: showing what this device saved last; what you record is sent when it returns"],
  openMap: ["在地图中打开", "Open in maps"],
  arrival: ["到场", "Arrival"],
  arrivedAt: ["到场时间", "Arrived at"],
  recordArrival: ["记录到场（含位置）", "Record arrival (with position)"],
  surveyReport: ["勘察诊断报告", "Survey report"],
  findings: ["勘察发现", "Findings"],
  measurement: ["检测项", "Measurement"],
  quantity: ["检测内容", "Quantity"],
  coatingThickness: ["涂层干膜厚度", "Coating dry film thickness"],
  overallVerticality: ["整体垂直度", "Overall verticality"],
  heightMm: ["高度 H（mm）", "Height H (mm)"],
  designThickness: ["设计厚度（µm）", "Design thickness (µm)"],
  coats: ["涂装遍数", "Coats"],
  myInstruments: ["我的仪器", "My instruments"],
  instrument: ["仪器", "Instrument"],
  serialNumber: ["出厂编号", "Serial number"],
  calibratedUntil: ["检定有效期至", "Calibrated until"],
  readingsHelp: ["以空格分隔；涂层每测点读三次，取平均", "Separated by spaces; a coating spot is read three times and averaged"],
  judgedWhenOnline: ["联网后判定", "Judged when online"],
  addMeasurement: ["添加检测项", "Add a measurement"],
  remove: ["删除", "Remove"],
  rootCause: ["原因分析", "Root cause"],
  responsibleParty: ["责任方", "Responsible party"],
  customerRepresentative: ["客户代表", "Customer representative"],
  surveyor: ["勘察技术员", "Surveyor"],
  signsOnDevice: ["客户代表在此处手写签名", "The customer representative signs here"],
  signatureRequired: ["请客户代表签名", "The customer representative has not signed"],
  clearSignature: ["重签", "Clear"],
  representativeDissents: ["客户代表有异议（双方意见均记录）", "The customer representative disagrees (both opinions are recorded)"],
  representativeOpinion: ["客户代表意见", "The customer representative's opinion"],
  surveyorOpinion: ["勘察技术员意见", "The surveyor's opinion"],
  takePhoto: ["拍照 / 选择照片", "Take or choose photos"],
  deviceFull: ["本机存储已满，报告未保存：请删除部分照片后重试", "This device's storage is full and the report was not kept: remove some photos and try again"],
  signAndSend: ["签署并提交", "Sign and send"],
  required: ["必填", "Required"],
  waitingToSend: ["待发送", "Waiting to be sent"],
  waitingForNetwork: ["等待网络，恢复后自动发送", "waiting for the network; sent when it returns"],
  refusedByServer: ["服务器未接受，请更正", "Not accepted by the server: correct it"],
  correctIt: ["更正", "Correct it"],
  surveyReceived: ["勘察报告已提交", "The survey report has been received"],
  withCompanyAccount: ["或使用单位账号登录", "Or sign in with your company account"],
  ssoFailed: ["单位账号登录未完成", "Signing in with the company account did not complete"],
  withToken: ["访问令牌", "Token"],
  loginName: ["登录名", "Login name"],
  password: ["密码", "Password"],
  callDesk: ["接线台", "Call desk"],
  reportProblem: ["报修", "Report a problem"],
  tickets: ["工单", "Tickets"],
  board: ["派工看板", "Dispatch board"],
  archive: ["档案", "Archive"],
  statistics: ["统计", "Statistics"],
  customer: ["客户", "Customer"],
  project: ["项目", "Project"],
  newCustomer: ["登记客户", "Register a customer"],
  newProject: ["登记项目", "Register a project"],
  organization: ["单位名称", "Organisation"],
  contactName: ["联系人", "Contact"],
  phone: ["电话", "Phone"],
  projectName: ["项目名称", "Project name"],
  city: ["城市", "City"],
  contract: ["合同编号", "Contract number"],
  structureType: ["结构类型", "Structure type"],
  completionDate: ["竣工验收日期", "Completion acceptance date"],
  register: ["登记", "Register"],
  takeCall: ["受理来电", "Take a call"],
  channel: ["渠道", "Channel"],
  reporter: ["报修人", "Reporter"],
  location: ["部位", "Location"],
  gridAxes: ["轴线", "Grid axes"],
  phenomenon: ["现象", "What is happening"],
  extent: ["范围", "Extent"],
  customerRequest: ["客户诉求", "Customer's request"],
  createTicket: ["生成工单", "Create the ticket"],
  suggestion: ["系统建议", "Suggested"],
  matchedWords: ["命中词", "Matched words"],
  category: ["问题类别", "Category"],
  tier: ["等级", "Tier"],
  warranty: ["保修", "Warranty"],
  inWarranty: ["保修期内", "In warranty"],
  outOfWarranty: ["已过保", "Out of warranty"],
  readback: ["复述确认", "Read back"],
  readbackText: ["复述内容", "What was read back"],
  confirmReadback: ["客户已确认", "Customer confirmed"],
  photos: ["照片", "Photos"],
  attach: ["上传", "Attach"],
  customerReply: ["给客户的答复", "The reply the customer gets"],
  acceptanceNumber: ["受理编号", "Acceptance number"],
  nextSteps: ["后续步骤", "Next steps"],
  customerActions: ["请客户配合", "What the customer should do"],
  responseDeadline: ["响应时限", "Response deadline"],
  state: ["状态", "State"],
  created: ["创建时间", "Created"],
  sla: ["时限", "SLA"],
  filters: ["筛选", "Filters"],
  search: ["查询", "Search"],
  more: ["更多", "More"],
  open: ["打开", "Open"],
  lifecycle: ["处理过程", "Lifecycle"],
  clocks: ["四个时限", "The four SLA clocks"],
  clock_response: ["响应", "Response"],
  clock_arrival: ["到场", "Arrival"],
  clock_solution: ["出方案", "Solution"],
  clock_completion: ["完成", "Completion"],
  businessTime: ["工作时间", "business time"],
  roundTheClock: ["全天候", "round the clock"],
  left: ["剩余", "left"],
  overdueBy: ["已超时", "overdue by"],
  paused: ["已暂停", "paused"],
  notCounting: ["非工作时间，暂停计时", "outside working hours, not counting"],
  survey: ["勘察报告", "Survey report"],
  measurements: ["测量", "Measurements"],
  verdict: ["判定", "Verdict"],
  judgementBasis: ["依据与结论", "Basis and finding"],
  passed: ["合格", "pass"],
  failed: ["不合格", "fail"],
  plans: ["维修方案", "Repair plans"],
  version: ["版本", "Version"],
  approvals: ["审批", "Approvals"],
  agreement: ["协议", "Agreement"],
  workLog: ["施工日志", "Work log"],
  acceptanceRounds: ["验收", "Acceptance rounds"],
  visits: ["回访", "Visits"],
  assignments: ["派工", "Assignments"],
  waiting: ["待派", "Waiting"],
  offered: ["已派待接", "Offered"],
  confirmed: ["已确认", "Confirmed"],
  technicians: ["技术员负荷", "Technicians' load"],
  technician: ["技术员", "Technician"],
  load: ["负荷", "Load"],
  offerByHand: ["手工派工", "Offer by hand"],
  reason: ["原因", "Reason"],
  offer: ["派工", "Offer"],
  accept: ["接受", "Accept"],
  decline: ["拒绝", "Decline"],
  myOffers: ["我的派工", "My assignments"],
  deadline: ["时限", "Deadline"],
  ticket: ["工单", "Ticket"],
  dossier: ["档案卷宗", "Dossier"],
  verify: ["校验", "Verify"],
  export: ["导出", "Export"],
  verified: ["校验通过：档案未被改动", "Verified: the archive is unchanged"],
  tampered: ["校验失败", "Verification failed"],
  breakdown: ["问题分布", "Problem breakdown"],
  compliance: ["时限达成率", "SLA compliance"],
  outcomes: ["结案指标", "Case outcomes"],
  kpis: ["人员KPI", "Staff KPIs"],
  downloadCsv: ["下载CSV", "Download CSV"],
  from: ["起", "From"],
  to: ["止", "To"],
  dimension: ["维度", "Dimension"],
  cases: ["案件数", "Cases"],
  share: ["占比", "Share"],
  nothing: ["暂无", "Nothing yet"],
  live: ["实时", "Live"],
  saved: ["已保存", "Saved"],
  whoAmI: ["当前用户", "Signed in as"],
  roles: ["角色", "Roles"],
  timeZone: ["时区", "Time zone"],
  fixFields: ["请修正标出的字段", "Please correct the marked fields"],
  notFound: ["未找到", "Not found"],
  refresh: ["刷新", "Refresh"],
  onTime: ["按时率", "On time"],
  recurrence: ["复发率", "Recurrence"],
  rework: ["返工率", "Rework"],
  satisfaction: ["满意度", "Satisfaction"],
  firstTimeAcceptance: ["一次验收通过率", "First-time acceptance"],
  member: ["构件", "Member"],
  readings: ["读数", "Readings"],
  limits: ["允许范围", "Limits"],
  ending: ["结案方式", "Ending"],
  completeness: ["完整度", "Completeness"],
  missing: ["缺失", "Missing"],
  manifest: ["清单摘要", "Manifest"],
  documentKind: ["文件类型", "Kind"],
  documentTitle: ["标题", "Title"],
  size: ["大小", "Size"],
  cost: ["费用", "Cost"],
  customerPays: ["客户承担", "customer pays"],
  contractorBears: ["承包方承担", "contractor bears"],
  whyThisBearing: ["费用承担依据", "Why"],
  scope: ["范围", "Scope"],
  overdue: ["超时", "Overdue"],
  kpi_TECHNICIAN: ["技术员", "Technician"],
  kpi_TEAM: ["班组", "Team"],
  kpi_AGENT: ["客服", "Agent"],
  dim_CATEGORY: ["问题类别", "Category"],
  dim_LOCATION: ["部位", "Location"],
  dim_ROOT_CAUSE: ["原因", "Root cause"],
  dim_RESPONSIBLE_PARTY: ["责任方", "Responsible party"],
  dim_PROJECT: ["项目", "Project"],
  dim_STRUCTURE_TYPE: ["结构类型", "Structure type"],
  dim_MONTH: ["月份", "Month"],
  stepReadback: ["复述确认", "Read back confirmed"],
  stepOffered: ["派工", "Offered to"],
  stepArrived: ["到场", "Arrived"],
  stepSurvey: ["勘察报告", "Survey report"],
  stepPlan: ["维修方案", "Repair plan"],
  stepAgreement: ["签订协议", "Agreement signed"],
  stepWork: ["施工", "Work"],
  stepAcceptance: ["验收", "Acceptance"],
  stepVisit: ["回访", "Visit"],
} satisfies Record<string, [string, string]>;

export type Word = keyof typeof words;

export interface I18n {
  lang: Lang;
  /** The labels the server sent for `lang` (a new object when they change). */
  labels: Labels;
  t: (w: Word) => string;
  setLang: (l: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: "zh", labels: {}, t: (w) => words[w][0], setLang: () => {} });

export function makeI18n(lang: Lang, setLang: (l: Lang) => void, labels: Labels): I18n {
  return { lang, labels, setLang, t: (w) => words[w][lang === "zh" ? 0 : 1] };
}

/** The BCP 47 tag the server is asked to write in for `lang`. */
export function languageTag(lang: Lang): string {
  return lang === "zh" ? "zh-CN" : "en";
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}

// Enum labels come from the server (AdminService.GetLabels) in the console's language, so the
// console keeps no copy of its own; until they arrive (or before sign-in) a value reads as its
// name in words.
const enums = {
  CaseState: CaseStateSchema,
  SeverityTier: SeverityTierSchema,
  ProblemCategory: ProblemCategorySchema,
  SlaStatus: SlaStatusSchema,
  AssignmentState: AssignmentStateSchema,
  Channel: ChannelSchema,
  StructureType: StructureTypeSchema,
  CaseEnding: CaseEndingSchema,
  DocumentKind: DocumentKindSchema,
  ApprovalStep: ApprovalStepSchema,
  PlanStatus: PlanStatusSchema,
  RootCause: RootCauseSchema,
  ResponsibleParty: ResponsiblePartySchema,
  InstrumentKind: InstrumentKindSchema,
};
export type EnumName = keyof typeof enums;

/** Enum full name → value name → label, as the server sent them. */
export type Labels = Record<string, Record<string, string>>;
let serverLabels: Labels = {};

/** Keeps the labels the server sent (the provider re-renders its consumers). */
export function setServerLabels(labels: Labels) {
  serverLabels = labels;
}

/** The label of `value` of enum `name`. */
export function enumLabel(_lang: Lang, name: EnumName, value: number): string {
  const schema = enums[name];
  const entry = schema.values.find((v) => v.number === value);
  if (!entry) return String(value);
  const label = serverLabels[schema.typeName]?.[entry.name];
  if (label) return label;
  const words = entry.localName.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The values of an enum other than UNSPECIFIED, for selects. */
export function enumValues(name: EnumName): number[] {
  return enums[name].values.map((v) => v.number).filter((n) => n !== 0);
}
