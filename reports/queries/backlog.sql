-- Cases by state and route, with their amount at risk and how many are
-- past their due time at $now.
SELECT state, route, count(*) AS cases,
       sum(amount_at_risk)::VARCHAR AS amount,
       count(*) FILTER (WHERE due_at < $now::TIMESTAMP) AS overdue
FROM report_cases($districts)
GROUP BY ALL
ORDER BY ALL;
