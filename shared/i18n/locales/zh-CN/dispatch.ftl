dispatch-rank = 在 { $total } 名合格且有空的候选人中排第 { $rank }
dispatch-distance = 驻地距现场 { $km } 公里
dispatch-distance-unknown = 距离未知（无驻地或现场位置）
dispatch-first-time = 一次验收通过率 { $percent }%
dispatch-offered-by-hand = 由 { $who } 手动派工：{ $reason }
dispatch-active = 当前有 { $active } 项进行中的派工
