# Notifications (steelcare-notify): per topic a title and a body; the SMS gateway renders its
# own approved template from the same facts.
notify-fact = { $value }
notify-ticket-received-title = Report { $number } received
notify-ticket-received-body = Your report was received as { $number }. We will respond by { $due }. Next: a technician will be scheduled to survey the site; please keep the area accessible, keep photos of the problem and name a contact on site.
notify-offer-title = New job offer: { $number }
notify-offer-body = You are offered the survey of { $number } at { $project }. Accept or decline in SteelCare before { $expires }.
notify-survey-planned-title = Site visit planned for { $number }
notify-survey-planned-body = Our technicians will be on site for { $number } at { $when }. Please make sure they can reach the problem.
notify-plan-to-review-title = Repair plan to review: { $number }
notify-plan-to-review-body = Version { $version } of the repair plan for { $number } waits for your review in SteelCare.
notify-sla-at-risk-title = At risk: { $clock } of { $number }
notify-sla-at-risk-body = The { $clock } time of { $number } ({ $tier }) runs out at { $deadline }.
notify-sla-breached-title = Breached: { $clock } of { $number }
notify-sla-breached-body = The { $clock } time of { $number } ({ $tier }) ran out at { $deadline }.
notify-dispatch-escalated-title = Nobody to send: { $number }
notify-dispatch-escalated-body = No qualified technician is free for { $number } ({ $tier }). Please assign one by hand.
notify-acceptance-to-sign-title = Repair of { $number } ready for your acceptance
notify-acceptance-to-sign-body = The repair of { $number } passed our own inspection. Please check it and sign the acceptance form, or list what must be rectified.
notify-visits-scheduled-title = Return visits for { $number }
notify-visits-scheduled-body = { $count ->
        [one] We will call you back once about { $number } to ask how the repair holds.
       *[other] We will call you back { $count } times about { $number } to ask how the repair holds.
    }
notify-channel-personal = only e-mail and SMS can be chosen (the console is always on; robots are set per deployment)
notify-field-hhmm = must be a time of day as HH:MM
notify-retry-not-dead = only a dead delivery can be retried; this one is { $state }
entity-notification = notification
entity-delivery = delivery
notify-time-unknown = as soon as possible
notify-clock-unknown = a clock
notify-agreement-to-sign-title = Agreement for { $number } ready for your signature
notify-agreement-to-sign-body = We have signed the handling agreement for { $number } (plan version { $version }). Please read it in SteelCare and countersign it, or ask for changes.
notify-visit-due-title = We will call you about { $number }
notify-visit-due-body = We will call you at { $when } to ask how the repair of { $number } holds.
notify-visit-call-due-title = Return visit due: { $number }
notify-visit-call-due-body = The return visit of { $number } is due at { $when }. It is on your call list.
notify-action-due-title = Corrective action due: { $title }
notify-action-due-body = The corrective action "{ $title }" is due on { $due }. Record its progress or the fix in SteelCare.
notify-plan-to-decide-title = Repair plan for { $number } ready for your decision
notify-plan-to-decide-body = The repair plan for { $number } was approved by our engineers. Please read it in SteelCare and agree to it or ask for changes.
notify-satisfaction-survey-title = How did we do on { $number }?
notify-satisfaction-survey-body = Thank you for accepting the repair of { $number }. Please rate our response, competence, attitude, the fix and our communication in SteelCare.
