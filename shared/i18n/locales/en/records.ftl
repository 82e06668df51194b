# The system's own notes on records: return visits, corrective actions, repair completions.
action-verified-effective = verified effective: no recurrence in the { $days } days after the fix of { $fix }
action-reopened = reopened: ticket { $ticket } of { $day } shows the problem again after the action was verified effective
action-reopened-undated = reopened: ticket { $ticket } shows the problem again after the action was verified effective
visit-cancelled-declined = the customer declined visits: { $reason }

completion-cleared-round = customer acceptance round { $round } failed: rectification
completion-cleared = customer acceptance { $acceptance } failed: rectification
selfcheck-criterion-failed = step { $step } criterion { $criterion }: { $why }
selfcheck-criterion-failed-on = step { $step } criterion { $criterion } on { $member }: { $why }
selfcheck-unmeasured = no measurement answers it
selfcheck-key-step-failed = key step { $step }: its latest inspection failed
selfcheck-key-step-uninspected = key step { $step }: never inspected
selfcheck-new-problem = new problem: { $problem }
approval-why-urgent = urgent (P1) case
approval-why-structural = structural scope
approval-why-estimate = estimate above the chief engineer's threshold
