-- Open flags and amount at risk per month (of the flagged settlement, or of
-- the first scan for other subjects) and family, months in [$from, $to).
SELECT strftime(flagged_on, '%Y-%m') AS month, family,
       count(*) AS flags,
       sum(amount_at_risk)::VARCHAR AS amount
FROM report_flags($districts)
WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE
GROUP BY ALL
ORDER BY ALL;
