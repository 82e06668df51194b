# How dates and times are written (chrono patterns).
format-datetime = %-d %b %Y, %H:%M
format-date = %-d %b %Y
format-list-separator = {", "}
format-date-value = { $day }
format-clause-separator = {" "}
