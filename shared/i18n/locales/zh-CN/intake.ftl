reply-opinion-by = 工程师将于 { $at } 前给出初步意见
reply-respond-by = 我们将于 { $at } 前响应
reply-on-site-by = 具备资质的技术人员将携带所需仪器于 { $at } 前到达现场
reply-survey-then-plan = 技术人员将现场勘察、诊断原因，再与您商定维修方案
reply-action-site-access = 请为我方技术人员安排进场
reply-action-contact = 请指定现场联系人并保持电话畅通
reply-action-keep-away = 请疏散受影响区域的人员并停止在该区域加载，直至我方人员到达
reply-action-send-media = 请发送问题部位及周边的照片或短视频
