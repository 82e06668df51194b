dispatch-rank = rank { $rank } of { $total } qualified, available candidates considered
dispatch-distance = base { $km } km from the site
dispatch-distance-unknown = distance unknown (no base or site position)
dispatch-first-time = first-time acceptance { $percent }%
dispatch-offered-by-hand = offered by hand by { $who }: { $reason }
dispatch-active =
    { $active ->
        [one] { $active } active assignment
       *[other] { $active } active assignments
    }
offer-end-reclassified = the ticket was reclassified: no site visit needed
offer-end-cancelled = the case was cancelled
offer-end-resolved-remotely = the case was resolved remotely
offer-end-surveyed = the survey is done
offer-withdrawn-unavailable = the technician is no longer available
offer-reassigned-by-hand = reassigned by hand: { $reason }
offer-expired = no answer before the offer expired
offer-nobody-covers = no qualified, available technician covers { $regions } for { $category }
