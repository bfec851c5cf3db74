-- conv_stock, defined here alone (it was in 0013): it reads the billed
-- price of an institution's drug from conv_drug_unit (the same median of the
-- same drug lines, one row per institution and drug) instead of joining
-- every drug line to its settlement a second time: at 1 M persons that join
-- took 4.5 of the view's 5.2 s. A scan builds conv_drug_unit first and
-- conv_stock from it.
-- conv_stock: per institution and item with stock records, the first
-- purchase (stock before it is unknown), the restocking cadence (median days
-- between purchases: weekly ≤ 10, monthly ≤ 45, bulk above, single when
-- bought once) and the stock-to-billing unit ratio (purchase price over
-- billed price ≥ 3 means stock is counted in boxes and billed in pieces).
CREATE OR REPLACE VIEW conv_stock AS
WITH p AS (
    SELECT org_code, item_code, moved_on, quantity, unit_price,
           date_diff('day', lag(moved_on) OVER (PARTITION BY org_code, item_code ORDER BY moved_on), moved_on) AS gap
    FROM stock_movements WHERE kind = 'purchase'
),
billed AS (   -- the median billed price of the drug lines, learned once (conv_drug_unit)
    SELECT org_code, item_code, unit_price AS billed_price FROM conv_drug_unit
),
agg AS (
    SELECT org_code, item_code, min(moved_on) AS first_purchase, count(*) AS purchases, median(gap) AS cadence_days,
           (sum(quantity * unit_price) / nullif(sum(quantity) FILTER (WHERE unit_price IS NOT NULL), 0))::DOUBLE AS purchase_price
    FROM p GROUP BY org_code, item_code
)
SELECT a.org_code, a.item_code, a.first_purchase, a.purchases, a.cadence_days,
       CASE WHEN a.purchases = 1 THEN 'single' WHEN a.cadence_days <= 10 THEN 'weekly'
            WHEN a.cadence_days <= 45 THEN 'monthly' ELSE 'bulk' END AS cadence,
       a.purchase_price, b.billed_price,
       CASE WHEN a.purchase_price / nullif(b.billed_price, 0) >= 3 THEN a.purchase_price / b.billed_price ELSE 1 END AS stock_unit_ratio
FROM agg a LEFT JOIN billed b USING (org_code, item_code);
