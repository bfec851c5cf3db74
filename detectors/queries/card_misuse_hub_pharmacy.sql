-- card_misuse.hub_pharmacy features: every pharmacy with the number of
-- distinct cards swiped there (the base rate for the Poisson tail of flagged
-- cards computed in Go). Runs as is in the DuckDB CLI.
SELECT w.org_code, i.name AS org_name, i.region_code, count(DISTINCT w.card_no) AS cards,
       count(*) AS swipes
FROM card_swipes w JOIN institutions i ON i.org_code = w.org_code
WHERE i.kind = 'pharmacy' AND w.kind IN ('purchase', 'settlement') AND w.amount > 0
GROUP BY ALL
ORDER BY w.org_code
