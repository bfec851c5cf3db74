-- Open flags per family (of institution $org, '' for all): count, amount at
-- risk, flagged institutions, and how many are counted in the report's
-- period [$from, $to).
SELECT family,
       count(*) AS flags,
       sum(amount_at_risk)::VARCHAR AS amount,
       count(DISTINCT org_code) AS institutions,
       count(*) FILTER (WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE) AS in_period
FROM report_flags($districts)
WHERE $org = '' OR org_code = $org
GROUP BY family
ORDER BY family;
