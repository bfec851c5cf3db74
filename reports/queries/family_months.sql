-- Open flags and amount at risk per month (of the flagged settlement, or of
-- the first scan for other subjects) and family, months in [$from, $to).
-- Money counts each subject once per family and month, at its largest amount.
WITH f AS (
    SELECT strftime(flagged_on, '%Y-%m') AS month, family, subject_type, subject_id, amount_at_risk
    FROM report_flags($districts)
    WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE
)
SELECT month, family, sum(flags)::BIGINT AS flags, sum(amount)::VARCHAR AS amount
FROM (SELECT month, family, count(*) AS flags, max(amount_at_risk) AS amount FROM f GROUP BY month, family, subject_type, subject_id)
GROUP BY ALL
ORDER BY ALL;
