# The system's own notes on records: return visits, corrective actions, repair completions.
action-verified-effective = 验证有效：{ $fix }整改后 { $days } 天内未再发生
action-reopened = 重新打开：措施验证有效后，{ $day }的工单 { $ticket } 再次出现同类问题
action-reopened-undated = 重新打开：措施验证有效后，工单 { $ticket } 再次出现同类问题
visit-cancelled-declined = 客户谢绝回访：{ $reason }

completion-cleared-round = 第 { $round } 轮客户验收未通过，需整改
completion-cleared = 客户验收 { $acceptance } 未通过，需整改
selfcheck-criterion-failed = 步骤 { $step } 第 { $criterion } 项质量标准：{ $why }
selfcheck-criterion-failed-on = 步骤 { $step } 第 { $criterion } 项质量标准（{ $member }）：{ $why }
selfcheck-unmeasured = 没有对应的实测数据
selfcheck-key-step-failed = 关键工序 { $step }：最近一次检查不合格
selfcheck-key-step-uninspected = 关键工序 { $step }：未经检查
selfcheck-new-problem = 新发现问题：{ $problem }
approval-why-urgent = 紧急（P1）案件
approval-why-structural = 涉及结构安全（承重构件或节点）
approval-why-estimate = 费用估算超过总工程师审批限额
