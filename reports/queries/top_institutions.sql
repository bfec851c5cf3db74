-- Institutions by open amount at risk (each subject once, at its largest
-- amount), with level and kind.
WITH per AS (
    SELECT org_code, any_value(org_name) AS org_name, any_value(org_kind) AS org_kind, any_value(org_level) AS org_level,
           count(*) AS flags, max(amount_at_risk) AS amount, list(DISTINCT family) AS families
    FROM report_flags($districts)
    WHERE org_code IS NOT NULL AND org_code <> ''
    GROUP BY org_code, subject_type, subject_id
)
SELECT org_code, any_value(org_name), any_value(org_kind), any_value(org_level),
       sum(flags)::BIGINT AS flags,
       sum(amount)::VARCHAR AS amount,
       array_to_string(list_sort(list_distinct(flatten(list(families)))), ',') AS families
FROM per
GROUP BY org_code
ORDER BY sum(amount) DESC, org_code
LIMIT $limit;
