# 日期与时间的写法（chrono 格式）。
format-datetime = %Y年%-m月%-d日 %H:%M
format-date = %Y年%-m月%-d日
format-list-separator = 、
format-date-value = { $day }
format-clause-separator = ；
