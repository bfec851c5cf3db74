-- Institutions by open amount at risk, with level and kind.
SELECT org_code, any_value(org_name), any_value(org_kind), any_value(org_level),
       count(*) AS flags,
       sum(amount_at_risk)::VARCHAR AS amount,
       string_agg(DISTINCT family, ',' ORDER BY family) AS families
FROM report_flags($districts)
WHERE org_code IS NOT NULL AND org_code <> ''
GROUP BY org_code
ORDER BY sum(amount_at_risk) DESC, org_code
LIMIT $limit;
