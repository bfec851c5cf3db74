-- Refund swipes of settlements (退费): a refund gives the settlement's fund,
-- account and outpatient deductible back to the person's running totals at
-- the time of the refund. Runs as is in the DuckDB CLI.
SELECT settlement_id, swiped_at
FROM card_swipes
WHERE kind = 'refund' AND settlement_id IS NOT NULL
ORDER BY settlement_id, swiped_at
