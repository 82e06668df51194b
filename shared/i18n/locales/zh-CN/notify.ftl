# 通知（steelcare-notify）：每个主题一个标题、一段正文；短信网关按同样的参数渲染其已审核的模板。
notify-fact = { $value }
notify-ticket-received-title = 已受理报修 { $number }
notify-ticket-received-body = 您的报修已受理，受理编号 { $number }。我们将在 { $due } 前响应。下一步：安排技术人员到现场勘查；请保持现场可到达，保留问题照片，并指定现场联系人。
notify-offer-title = 新派工：{ $number }
notify-offer-body = 派您勘查 { $project } 的 { $number }。请在 { $expires } 前在 SteelCare 中接受或拒绝。
notify-survey-planned-title = { $number } 已安排上门
notify-survey-planned-body = 我们的技术人员将于 { $when } 到现场处理 { $number }，请确保能到达问题部位。
notify-plan-to-review-title = 待审核维修方案：{ $number }
notify-plan-to-review-body = { $number } 的维修方案第 { $version } 版等待您在 SteelCare 中审核。
notify-sla-at-risk-title = 即将超时：{ $number } 的{ $clock }
notify-sla-at-risk-body = { $number }（{ $tier }）的{ $clock }时限将于 { $deadline } 到期。
notify-sla-breached-title = 已超时：{ $number } 的{ $clock }
notify-sla-breached-body = { $number }（{ $tier }）的{ $clock }时限已于 { $deadline } 到期。
notify-dispatch-escalated-title = 无人可派：{ $number }
notify-dispatch-escalated-body = { $number }（{ $tier }）没有空闲的合格技术人员，请人工指派。
notify-acceptance-to-sign-title = { $number } 维修完成，请您验收
notify-acceptance-to-sign-body = { $number } 的维修已通过我方自检。请您查看并签署验收单，或列出需整改的事项。
notify-visits-scheduled-title = { $number } 的回访安排
notify-visits-scheduled-body = { $count ->
        [one] 我们将就 { $number } 回访您 1 次，了解维修效果。
       *[other] 我们将就 { $number } 回访您 { $count } 次，了解维修效果。
    }
notify-channel-personal = 只能选择电子邮件和短信（站内通知始终开启；群机器人按部署配置）
notify-field-hhmm = 须为 HH:MM 格式的时刻
notify-retry-not-dead = 只有失败的投递可以重试；此投递当前为 { $state }
entity-notification = 通知
entity-delivery = 投递
notify-time-unknown = 尽快
notify-clock-unknown = 某项时限
notify-agreement-to-sign-title = { $number } 的处理协议待您签署
notify-agreement-to-sign-body = 我方已签署 { $number } 的处理协议（方案第 { $version } 版）。请在 SteelCare 中阅读并会签，或提出修改意见。
notify-visit-due-title = 我们将就 { $number } 回访您
notify-visit-due-body = 我们将于 { $when } 致电您，了解 { $number } 的维修效果。
notify-visit-call-due-title = 回访到期：{ $number }
notify-visit-call-due-body = { $number } 的回访将于 { $when } 到期，已列入您的回访清单。
notify-action-due-title = 纠正措施到期：{ $title }
notify-action-due-body = 纠正措施“{ $title }”将于 { $due } 到期。请在 SteelCare 中记录进展或整改。
notify-plan-to-decide-title = { $number } 的维修方案待您确认
notify-plan-to-decide-body = { $number } 的维修方案已通过我方工程师审核。请在 SteelCare 中查看，同意或提出修改意见。
notify-satisfaction-survey-title = 请评价 { $number } 的服务
notify-satisfaction-survey-body = 感谢您验收 { $number } 的维修。请在 SteelCare 中就响应速度、专业能力、服务态度、维修效果和沟通协调进行评价。
