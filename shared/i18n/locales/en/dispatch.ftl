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
