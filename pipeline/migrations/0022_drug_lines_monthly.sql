-- drug_lines_monthly: the drug lines summed per institution, treatment
-- region, drug, month, unit price, whether the quantity is positive and
-- whether the settlement's total is. Four drug substitution rules
-- (price_vs_peers, price_over_purchase, sales_exceed_stock,
-- mix_divergence, on settlements with a positive total) and the learned
-- quantity unit (conv_drug_unit) each joined every drug line to its
-- settlement and grouped them (4.9, 2.5, 3.8, 2.0 and 2.9 s at 1 M
-- persons, 17.6 M drug lines); this grain holds what each of them sums
-- (114 k rows at 1 M persons), and a scan builds it once. insured is each
-- line's share of what the fund and the account paid, rounded per line as
-- the rules did (DECIMAL(18,4)) and then summed (NULL when the total is not
-- positive); lines is count(*).
CREATE OR REPLACE VIEW drug_lines_monthly AS
SELECT s.org_code, s.treatment_region, f.item_code, date_trunc('month', f.charged_at)::DATE AS m, f.unit_price,
       f.quantity > 0 AS qty_pos, s.total_amount > 0 AS pos_total, any_value(f.item_name) AS item_name, count(*) AS lines,
       sum(f.quantity) AS qty, sum(f.amount) AS amt,
       sum(CASE WHEN s.total_amount > 0 THEN (f.amount * (s.fund_paid + s.account_paid) / s.total_amount)::DECIMAL(18,4) END) AS insured
FROM fee_items f JOIN settlements s ON s.settlement_id = f.settlement_id
WHERE f.category = 'drug'
GROUP BY ALL;

-- conv_drug_unit (migration 0013) with its billed prices read from
-- drug_lines_monthly: the median unit price of an institution's drug lines
-- from the prices' line counts (the middle one or two lines' prices,
-- 0-based positions (n-1)/2 and n/2, as median() over the lines gives
-- them; equal at 1 M persons for all 9,471 institution-drug pairs).
CREATE OR REPLACE VIEW conv_drug_unit AS
WITH priced AS (
    SELECT org_code, item_code, unit_price, any_value(item_name) AS item_name, sum(lines) AS lines
    FROM drug_lines_monthly WHERE unit_price > 0 GROUP BY org_code, item_code, unit_price
),
counted AS (
    SELECT *, sum(lines) OVER (PARTITION BY org_code, item_code) AS n,
           sum(lines) OVER (PARTITION BY org_code, item_code ORDER BY unit_price ROWS UNBOUNDED PRECEDING) AS upto
    FROM priced
),
lines AS (
    SELECT org_code, item_code, any_value(item_name) AS item_name,
           list_median([min(unit_price) FILTER (WHERE upto > (n - 1) // 2), min(unit_price) FILTER (WHERE upto > n // 2)])::DOUBLE AS unit_price,
           sum(lines)::BIGINT AS lines
    FROM counted GROUP BY org_code, item_code
),
named AS (
    SELECT l.*, d.generic, d.atc, d.ddd, d.unit, d.strength, d.min_pack, d.max_piece_price, d.chronic, d.course_days, d.otc,
           row_number() OVER (PARTITION BY l.org_code, l.item_code ORDER BY length(d.generic) DESC NULLS LAST) AS rk
    FROM lines l LEFT JOIN ref_drug d ON contains(l.item_name, d.generic)
)
SELECT org_code, item_code, item_name, unit_price, lines, generic, atc, ddd, unit, strength, min_pack, chronic, course_days, otc,
       CASE WHEN generic IS NULL THEN 'unknown' WHEN unit_price <= max_piece_price THEN 'piece' ELSE 'box' END AS qty_unit,
       CASE WHEN generic IS NULL THEN NULL WHEN unit_price <= max_piece_price THEN 1 ELSE min_pack END AS pieces_per_unit
FROM named WHERE rk = 1;
