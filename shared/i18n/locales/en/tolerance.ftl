# Judgements against GB 50205: what a quantity's limit is (its clause title and basis) and
# the verdict on the readings.
tolerance-reason = { $basis }. { $verdict }.
tolerance-criterion = { $basis }. Judged when measured.
tolerance-verticality-single = Overall deviation of the single-storey frame from plumb
tolerance-verticality-multi = Overall deviation of the multi-storey frame from plumb
tolerance-column-verticality = Deviation of the column section from plumb
tolerance-mid-span-verticality = Mid-span deviation of the truss or beam from plumb
tolerance-lateral-bending = Lateral bending (sagitta) of the member
tolerance-by-ratio = { $what }: the reading is the deviation, nominal 0 { $unit }; allowed ±{ $allowed } { $unit } ({ $formula }{ $cap })
tolerance-cap-capped = , capped at { $cap } { $unit }
tolerance-cap-at-most = , and at most { $cap } { $unit }
tolerance-cap-none = {""}
tolerance-other-range = Nominal { $nominal }; from { $lower } to { $upper }
tolerance-other-at-least = Nominal { $nominal }; at least { $lower }
tolerance-other-at-most = Nominal { $nominal }; at most { $upper }
tolerance-other-nominal = Nominal { $nominal }
tolerance-torque = Final torque, target { $target } { $unit }; each bolt from { $lower } to { $upper } { $unit } ({ $lower_pct } % to { $upper_pct } %)
tolerance-splines = Twist-off bolts with the spline end not broken off: at most { $most } of the node's { $bolts } bolts ({ $pct } %)
tolerance-deflection = Deflection, design value { $design } { $unit }; measured at most { $most } { $unit } ({ $factor } × the design value)
tolerance-coating = { $what }{ $default }; each spot (the mean of { $per } readings) at least { $least } { $unit } ({ $tolerance } { $unit })
tolerance-coating-one-coat = Dry film of one coat of { $coats }, design { $design } { $unit } per coat
tolerance-coating-total = Total dry film thickness, design { $design } { $unit }
tolerance-coating-default-outdoors = {" "}(the code's value outdoors, the design being silent)
tolerance-coating-default-indoors = {" "}(the code's value indoors, the design being silent)
tolerance-coating-default-none = {""}
tolerance-main-verdict = { $verdict }; largest deviation { $largest } { $unit }
tolerance-main-one-within = The point is within the limit
tolerance-main-one-outside = The point is outside the limit
tolerance-main-all-within = All { $points } points are within the limit
tolerance-main-some-outside =
    { $failed ->
        [one] { $failed } of { $points } points is outside the limit (every point must be within)
       *[other] { $failed } of { $points } points are outside the limit (every point must be within)
    }
tolerance-general-verdict = { $share } % of the { $points } points are within the limit (at least { $needed } % needed) and the worst is { $worst } × the allowed deviation (at most { $factor } ×); largest deviation { $largest } { $unit }
tolerance-clause = { $text }
tolerance-source-given = limits given with the measurement
