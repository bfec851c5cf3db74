-- Review time of panel cases: days from the first send_to_panel event to
-- the following decide event, per month of decision in [$from, $to).
WITH sent AS (
    SELECT case_id, min(event_at) AS sent_at FROM case_events WHERE kind = 'send_to_panel' GROUP BY case_id
), decided AS (
    SELECT s.case_id, min(e.event_at) AS decided_at, any_value(s.sent_at) AS sent_at
    FROM sent s JOIN case_events e ON e.case_id = s.case_id AND e.kind = 'decide' AND e.event_at >= s.sent_at
    GROUP BY s.case_id
), days AS (
    SELECT strftime(decided_at, '%Y-%m') AS month,
           epoch(decided_at - sent_at) / 86400.0 AS days
    FROM decided d JOIN report_cases($districts) c USING (case_id)
    WHERE decided_at >= $from::DATE AND decided_at < $to::DATE
)
SELECT month, count(*) AS cases,
       quantile_cont(days, 0.5) AS median_days,
       quantile_cont(days, 0.9) AS p90_days
FROM days
GROUP BY month
ORDER BY month;
