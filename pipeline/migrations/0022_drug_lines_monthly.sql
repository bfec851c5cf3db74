-- drug_lines_monthly: the drug lines of settlements with a positive total,
-- summed per institution, treatment region, drug, month, unit price and
-- whether the quantity is positive. Four drug substitution rules
-- (price_vs_peers, price_over_purchase, sales_exceed_stock,
-- mix_divergence) each joined every drug line to its settlement and
-- grouped them (4.9, 2.5, 3.8 and 2.0 s at 1 M persons, 17.6 M drug
-- lines); this grain holds what each of them sums (114 k rows at 1 M
-- persons), and a scan builds it once. insured is each line's share of
-- what the fund and the account paid, rounded per line as the rules did
-- (DECIMAL(18,4)) and then summed; lines is count(*).
CREATE OR REPLACE VIEW drug_lines_monthly AS
SELECT s.org_code, s.treatment_region, f.item_code, date_trunc('month', f.charged_at)::DATE AS m, f.unit_price,
       f.quantity > 0 AS qty_pos, any_value(f.item_name) AS item_name, count(*) AS lines,
       sum(f.quantity) AS qty, sum(f.amount) AS amt,
       sum((f.amount * (s.fund_paid + s.account_paid) / s.total_amount)::DECIMAL(18,4)) AS insured
FROM fee_items f JOIN settlements s ON s.settlement_id = f.settlement_id
WHERE f.category = 'drug' AND s.total_amount > 0
GROUP BY ALL;
