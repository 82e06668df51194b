#!/usr/bin/env bash
# One whole case through the public API, as the README's "Calling it" shows it: from the call
# to the last return visit, every id kept in a variable, every step by the role that takes it.
# The tests run this script against the built binary (tests/api/readme.rs), so it cannot
# drift from the product; the README's lines are lines of this script.
#
#   deploy/local/walk.sh          # against the first command's server (127.0.0.1:50051),
#                                 # run from the directory it was started in (./data holds
#                                 # the secret `steelcare token` signs with)
#
# It needs bash, jq, GNU date and sha256sum/unzip; calls go through `steelcare call`, which
# takes grpcurl's arguments (`grpcurl -plaintext -H "authorization: Bearer $T" -d "$JSON"
# 127.0.0.1:50051 METHOD` does the same where grpcurl is installed: it is not a Debian package;
# get it from https://github.com/fullstorydev/grpcurl/releases).
#
# Environment (all optional):
#   STEELCARE_ADDR   the server (default 127.0.0.1:50051)
#   STEELCARE_BIN    the binary (default: cargo run -q -p steelcare --)
#   STEELCARE__*     passed to `steelcare token` (e.g. STEELCARE__DATA_DIR, where the secret is)
#   WALK_OUT         where the exported dossier goes (default: a temporary directory)
set -euo pipefail
ADDR=${STEELCARE_ADDR:-127.0.0.1:50051}
if [ -n "${STEELCARE_BIN:-}" ]; then SC=("$STEELCARE_BIN"); else SC=(cargo run -q -p steelcare --); fi
OUT=${WALK_OUT:-$(mktemp -d)}
RUN=$(date -u +%s)   # request ids unique to this run: the script can run again on one server

say() { printf '\n== %s\n' "$*"; }
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
token() { "${SC[@]}" token "$@"; }
# call TOKEN Service/Method JSON: one call, the reply as JSON on stdout.
call() { "${SC[@]}" call --addr "$ADDR" --token "$1" "steelcare.$2" "${3:-"{}"}"; }
# until_some WHAT COMMAND...: runs COMMAND every half second until it prints something (60 s).
until_some() {
  local what=$1 out
  shift
  for _ in $(seq 1 120); do
    out=$("$@")
    if [ -n "$out" ] && [ "$out" != null ]; then printf '%s\n' "$out"; return 0; fi
    sleep 0.5
  done
  echo "walk: no $what after 60 s" >&2
  return 1
}
I=intake.v1.IntakeService D=dispatch.v1.DispatchService R=repair.v1.RepairService
A=acceptance.v1.AcceptanceService F=feedback.v1.FeedbackService

say "the people (each a token of their role)"
AGENT=$(token --role agent --sub agent-1)
DISPATCHER=$(token --role dispatcher --sub disp-1)
TECH=$(token --role technician --sub tech-01)
CREW=$(token --role technician --sub tech-02)
ENG=$(token --role engineer --sub eng-1)
REVIEWER=$(token --role engineer --sub eng-2)
MGR=$(token --role manager --sub mgr-1)

say "the call desk registers the customer and the project once"
CUSTOMER=$(call $AGENT $I/CreateCustomer '{"organization_name":"Acme Logistics '$RUN'","contacts":[{"display_name":"Li Wei","phone":"13800000000"}]}' | jq -r .customer.customerId)
CUST=$(token --role customer --sub li-wei --org "$CUSTOMER")
PROJECT=$(call $AGENT $I/RegisterProject '{"customer_id":"'$CUSTOMER'","name":"Suzhou warehouse","address":{"province":"Jiangsu","city":"Suzhou","street":"88 Xinghu Street","position":{"latitude":31.3,"longitude":120.6}},"contract_number":"HT-2024-001","structure_type":"STRUCTURE_TYPE_PORTAL_FRAME","completion_acceptance_date":{"year":2024,"month":5,"day":10}}' | jq -r .project.projectId)
call $AGENT $I/SetWarrantyTerms '{"project_id":"'$PROJECT'","warranty_terms":[{"scope":"WARRANTY_SCOPE_WATERPROOFING","months":60}]}' >/dev/null

say "the dispatcher registers the roofers once"
for T in tech-01 tech-02; do
  call $DISPATCHER $D/UpsertTechnician '{"technician":{"technician_id":"'$T'","person":{"display_name":"'$T'","phone":"13700000000"},"team":"east","regions":["Suzhou"],"skills":["SKILL_STRUCTURAL_SURVEY","SKILL_SURVEYING_INSTRUMENTS","SKILL_WATERPROOFING"],"certificates":[{"kind":"work_at_height","number":"WAH-'$T'","issuer":"Jiangsu safety board","valid_until":{"year":2030,"month":12,"day":31}}],"calendar":"round_the_clock","capacity":2}}' >/dev/null
done

say "a call becomes a ticket: the reply is kept, and read back to the customer"
REPLY=$(call $AGENT $I/CreateTicket '{"request_id":"call-'$RUN'","channel":"CHANNEL_HOTLINE","project_id":"'$PROJECT'","reporter":{"display_name":"Wang Wu","phone":"13900000000"},"location":{"description":"north roof gutter","grid_axes":"A-C/3-5"},"description":{"phenomenon":"屋面天沟漏水，下雨时滴水"}}')
TICKET=$(jq -r .ticket.ticketId <<<"$REPLY")
jq -r '.ticket | "\(.acceptanceNumber) \(.category) \(.tier) in warranty: \(.warranty.inWarranty)", .reply.nextSteps[]' <<<"$REPLY"
call $AGENT $I/ConfirmReadback '{"ticket_id":"'$TICKET'","readback_text":"漏水位置与现象已向客户复述并确认"}' >/dev/null
call $AGENT $I/AcknowledgeTicket '{"ticket_id":"'$TICKET'","response_text":"a surveyor is coming"}' >/dev/null

say "the queue offers the visit to a roofer; they accept, plan the survey and arrive"
offer() { call $DISPATCHER $D/ListAssignments '{"ticket_id":"'$TICKET'"}' | jq -r '.assignments[]? | select(.state == "ASSIGNMENT_STATE_OFFERED") | .assignmentId'; }
ASSIGNMENT=$(until_some "offer" offer)
OFFERED_TO=$(call $DISPATCHER $D/ListAssignments '{"ticket_id":"'$TICKET'"}' | jq -r '.assignments[0].technicianId')
LEAD=$([ "$OFFERED_TO" = tech-01 ] && echo $TECH || echo $CREW)
call $LEAD $D/AcceptAssignment '{"assignment_id":"'$ASSIGNMENT'"}' | jq -r .assignment.state
call $DISPATCHER $D/PlanSurvey '{"survey_plan":{"ticket_id":"'$TICKET'","lead_technician_id":"'$OFFERED_TO'","scheduled_time":"'$(at '+2 hours')'"}}' >/dev/null
call $LEAD $D/RecordArrival '{"assignment_id":"'$ASSIGNMENT'"}' >/dev/null

say "the survey report: measurements judged against GB 50205, cause and responsibility, both signatures"
MEASURED=$(at '-30 minutes')
call $LEAD $R/SubmitSurveyReport '{"request_id":"rep-'$RUN'","ticket_id":"'$TICKET'","content":{"survey_time":{"start_time":"'$(at '-1 hour')'","end_time":"'$(at '-10 minutes')'"},"participants":[{"display_name":"Li Wei"},{"display_name":"'$OFFERED_TO'"}],"findings":"gutter G2 coating worn through at the outlet","measurements":[{"coating_thickness":{"design_thickness_um":150,"coats":3},"member":"G2","location":"gutter G2, spots 1-5","instrument":{"kind":"INSTRUMENT_KIND_COATING_THICKNESS_GAUGE","serial_number":"CTG-1","calibration_valid_until":{"year":2027,"month":12,"day":31}},"measure_time":"'$MEASURED'","readings":[150,148,151,110,112,109,150,152,149,151,150,150,149,150,151]},{"overall_verticality":{"height_mm":12000,"storey_type":"STOREY_TYPE_SINGLE"},"member":"GZ-3","instrument":{"kind":"INSTRUMENT_KIND_TOTAL_STATION","serial_number":"TS-7","calibration_valid_until":{"year":2027,"month":6,"day":30}},"measure_time":"'$MEASURED'","readings":[4,6.5,3]}],"diagnosis":{"root_cause":"ROOT_CAUSE_WORKMANSHIP","responsibility":[{"party":"RESPONSIBLE_PARTY_CONTRACTOR","percent":100}],"evidence":[{"measurement_id":"m1","note":"spot 2 at 110 µm"}]},"recommendation":"recoat the gutter and reseal the outlet","signatures":[{"signer":{"display_name":"Li Wei"},"role":"SIGNATURE_ROLE_CUSTOMER_REPRESENTATIVE","method":"SIGNATURE_METHOD_ON_DEVICE","signed_time":"'$(at '-5 minutes')'"},{"signer":{"display_name":"'$OFFERED_TO'"},"role":"SIGNATURE_ROLE_SURVEYOR","method":"SIGNATURE_METHOD_ON_DEVICE","signed_time":"'$(at '-5 minutes')'"}]}}' \
  | jq -r '.report.measurements[].judgement | .reason, .reasonZh'

say "who pays, before any price, in Chinese and English"
call $ENG $R/AssessCost '{"ticket_id":"'$TICKET'"}' | jq -r '.cost | .reasoningZh, .reasoningEn'

say "the plan: proposed, reviewed, agreed by the customer, signed"
CREW_ID=$([ "$OFFERED_TO" = tech-01 ] && echo tech-02 || echo tech-01)
CREW_TOKEN=$([ "$OFFERED_TO" = tech-01 ] && echo $CREW || echo $TECH)
call $ENG $R/ProposePlan '{"request_id":"plan-'$RUN'","ticket_id":"'$TICKET'","content":{"objective":"stop the leak at gutter G2 and restore its corrosion protection","scope":"gutter G2 between axes 3 and 5","methods":"blast to Sa2.5, three coats per GB 50205 §14","materials":[{"name":"epoxy zinc-rich primer","quantity":"20 kg","certificate_refs":["QC-2026-118"]}],"steps":[{"step_id":"s1","description":"remove the old coating"},{"step_id":"s2","description":"apply three coats","key_step":true,"quality_criteria":[{"coating_thickness":{"design_thickness_um":150,"coats":3},"member":"G2"}]}],"safety_measures":["harness anchored to the lifeline"],"schedule":{"start_time":"'$(at '+1 day')'","end_time":"'$(at '+1 day 8 hours')'"},"crew_technician_ids":["'$CREW_ID'"],"equipment":["scissor lift"],"cost_estimate":{"currency_code":"CNY","amount_minor":1000000},"expected_bearer":"COST_BEARER_CONTRACTOR","expected_effect":"no water at the outlet in a 30-minute spray test","disruption":"bay 3 closed for one day"}}' | jq -r '.plan.status'
call $REVIEWER $R/ReviewPlan '{"request_id":"review-'$RUN'","ticket_id":"'$TICKET'","version":1,"approved":true}' | jq -r '.plan.status'
call $CUST $R/RecordCustomerDecision '{"request_id":"decision-'$RUN'","ticket_id":"'$TICKET'","plan_version":1,"agreed":true}' >/dev/null
SIGNED=$(at '-1 minute')
call $ENG $R/SignAgreement '{"request_id":"agreement-'$RUN'","ticket_id":"'$TICKET'","plan_version":1,"contractor_obligations":["recoat gutter G2"],"quoted":{"currency_code":"CNY","amount_minor":1000000},"signatures":[{"signer":{"display_name":"Li Wei"},"role":"SIGNATURE_ROLE_CUSTOMER_REPRESENTATIVE","method":"SIGNATURE_METHOD_ON_DEVICE","signed_time":"'$SIGNED'"},{"signer":{"display_name":"eng-1"},"role":"SIGNATURE_ROLE_CONTRACTOR_REPRESENTATIVE","method":"SIGNATURE_METHOD_ON_DEVICE","signed_time":"'$SIGNED'"}]}' \
  | jq -r '.agreement.cost | .reasoningZh, .reasoningEn'

say "the repair: work logged, the key step inspected, completed"
for STEP in s1:40 s2:90; do
  call $CREW_TOKEN $R/LogWork '{"request_id":"work-'$RUN'-'${STEP%%:*}'","ticket_id":"'$TICKET'","step_id":"'${STEP%%:*}'","content":"blasted and recoated the gutter","materials":[{"name":"epoxy zinc-rich primer","quantity":"5 kg","batch":"B-77","certificate_refs":["QC-2026-118"]}],"crew_technician_ids":["'$CREW_ID'"],"work_time":{"start_time":"'$(at '-3 hours')'","end_time":"'$(at '-1 hour')'"},"progress_percent":'${STEP##*:}'}' >/dev/null
done
COATING='{"coating_thickness":{"design_thickness_um":150,"coats":3},"member":"G2","location":"gutter G2, spots 1-5","instrument":{"kind":"INSTRUMENT_KIND_COATING_THICKNESS_GAUGE","serial_number":"CTG-1","calibration_valid_until":{"year":2027,"month":12,"day":31}},"measure_time":"'$(at '-20 minutes')'","readings":[151,151,151,152,152,152,151,151,151,153,153,153,151,151,151]}'
call $CREW_TOKEN $R/RecordInspection '{"request_id":"inspection-'$RUN'","ticket_id":"'$TICKET'","step_id":"s2","measurements":['"$COATING"']}' | jq -r '.inspection.passed'
call $ENG $R/CompleteRepair '{"request_id":"complete-'$RUN'","ticket_id":"'$TICKET'","summary":"gutter recoated, outlet resealed"}' >/dev/null

say "acceptance: the crew's self-inspection, then the customer signs"
call $CREW_TOKEN $A/RecordSelfInspection '{"request_id":"self-'$RUN'","ticket_id":"'$TICKET'","measurements":['"$COATING"'],"notes":"walked the gutter with the foreman"}' | jq -r '.selfInspection.passed'
call $CUST $A/RecordCustomerAcceptance '{"request_id":"accept-'$RUN'","ticket_id":"'$TICKET'","accepted":true,"customer_signature":{"signer":{"display_name":"Li Wei"},"role":"SIGNATURE_ROLE_CUSTOMER_REPRESENTATIVE","method":"SIGNATURE_METHOD_ON_DEVICE","signed_time":"'$(at '-1 minute')'"}}' | jq -r '.acceptance.accepted'

say "the archive: numbered, verified online, exported and checked offline"
ARCHIVE=$(call $ENG $A/ArchiveCase '{"request_id":"archive-'$RUN'","ticket_id":"'$TICKET'"}' | jq -r .archive.archiveNumber)
call $ENG $A/VerifyArchive '{"archive_number":"'$ARCHIVE'"}' | jq -r '"intact: \(.intact)"'
call $ENG $A/ExportArchive '{"archive_number":"'$ARCHIVE'"}' \
  | jq -r .chunk | while read -r c; do printf %s "$c" | base64 -d; done > "$OUT/$ARCHIVE.zip"
mkdir -p "$OUT/dossier" && (cd "$OUT/dossier" && unzip -qo "../$ARCHIVE.zip" && sha256sum --quiet -c SHA256SUMS && echo "SHA256SUMS: every document OK")

say "the return visits (1, 3 and 6 months) and the satisfaction survey"
visits() { call $AGENT $F/ListVisits '{"ticket_id":"'$TICKET'"}' | jq -c 'select((.visits | length) >= 3) | [.visits[].visitId]'; }
VISITS=$(until_some "visits" visits)
FIRST=$(jq -r '.[0]' <<<"$VISITS")
call $CUST $F/SubmitSatisfaction '{"request_id":"survey-'$RUN'","ticket_id":"'$TICKET'","visit_id":"'$FIRST'","scores":{"response_speed":5,"service_attitude":5,"professional_competence":4,"fix_effect":4,"communication":4,"overall":4},"comment":"快，干净"}' >/dev/null
for VISIT in $(jq -r '.[]' <<<"$VISITS"); do
  call $AGENT $F/RecordVisitAttempt '{"request_id":"visit-'$VISIT'","visit_id":"'$VISIT'","outcome":"ATTEMPT_OUTCOME_REACHED","method":"VISIT_METHOD_PHONE","contact":{"display_name":"Li Wei"},"condition":"PART_CONDITION_GOOD"}' | jq -r .state
done

say "the end"
call $MGR $I/GetTicket '{"ticket_id":"'$TICKET'"}' | jq -r '"\(.ticket.acceptanceNumber) \(.ticket.state) \("'$ARCHIVE'")"'
