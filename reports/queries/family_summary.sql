-- Open flags per family (of institution $org, '' for all): count, amount at
-- risk, flagged institutions, and how many are counted in the report's
-- period [$from, $to). Money counts each subject once per family, at its
-- largest amount (a stay hit by three rules is one stay); the row with
-- family '' is the total over every family, each subject once.
WITH f AS (
    SELECT * FROM report_flags($districts) WHERE $org = '' OR org_code = $org
),
per AS (
    SELECT family, subject_type, subject_id, max(amount_at_risk) AS amount FROM f GROUP BY ALL
),
money AS (
    SELECT family, sum(amount) AS amount FROM per GROUP BY family
    UNION ALL
    SELECT '', sum(amount) FROM (SELECT max(amount) AS amount FROM per GROUP BY subject_type, subject_id)
)
SELECT family,
       count(*) AS flags,
       (SELECT m.amount FROM money m WHERE m.family = f.family)::VARCHAR AS amount,
       count(DISTINCT org_code) AS institutions,
       count(*) FILTER (WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE) AS in_period
FROM f
GROUP BY family
UNION ALL
SELECT '', count(*), (SELECT m.amount FROM money m WHERE m.family = '')::VARCHAR, count(DISTINCT org_code),
       count(*) FILTER (WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE)
FROM f
ORDER BY family;
