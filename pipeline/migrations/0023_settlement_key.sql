-- settlement_key(id): the key a fee line joins its settlement on in the
-- large joins (the monthly drug sums below, the recompute's line sums,
-- sudden_volume, item_share). Here it is the settlement id itself. A scan
-- redefines it on its connections as the id's 64-bit hash (a temp macro of
-- the same name, which DuckDB finds first, in views too) once it has
-- counted that no two loaded settlement ids share a hash: every fee line's
-- settlement is loaded (the ingest quarantines orphans), so equal hashes
-- then mean the same settlement. At 10.0 M settlements the joins' tables
-- of ids did not fit beside their aggregates under the scan's 1 GB and
-- went to disk; with 8-byte keys they fit (README, "Rules written for
-- DuckDB's executor"). The three views of the drug lines below (in
-- migrations 0013, 0021 and 0022 before) are defined here alone.
CREATE OR REPLACE MACRO settlement_key(id) AS id;

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
-- positive); lines is count(*). The lines join their settlement's narrow
-- facts by settlement_key: the institution as its row number (its code
-- joins the groups) and what the fund and the account paid as one sum.
-- With the ids, the code and both amounts the join's table of 10.0 M
-- settlements did not fit beside the aggregate under the scan's 1 GB:
-- 13.5-13.8 s against 6.9-7.0 s at 10.0 M settlements (the same rows).
CREATE OR REPLACE VIEW drug_lines_monthly AS
SELECT i.org_code, g.* EXCLUDE (org_no)
FROM (SELECT s.org_no, s.treatment_region, f.item_code, date_trunc('month', f.charged_at)::DATE AS m, f.unit_price,
             f.quantity > 0 AS qty_pos, s.total_amount > 0 AS pos_total, any_value(f.item_name) AS item_name, count(*) AS lines,
             sum(f.quantity) AS qty, sum(f.amount) AS amt,
             sum(CASE WHEN s.total_amount > 0 THEN (f.amount * s.insured / s.total_amount)::DECIMAL(18,4) END) AS insured
      FROM fee_items f
      JOIN (SELECT settlement_key(s.settlement_id) AS skey, i.rowid AS org_no, s.treatment_region, s.total_amount,
                   s.fund_paid + s.account_paid AS insured
            FROM settlements s JOIN institutions i USING (org_code)) s
        ON s.skey = settlement_key(f.settlement_id)
      WHERE f.category = 'drug'
      GROUP BY ALL) g
JOIN institutions i ON i.rowid = g.org_no;

-- conv_drug_unit: per institution and drug of ref_drug, whether quantities
-- are billed in pieces (拆零: 片/粒/支) or in boxes, read from the unit price:
-- a piece never costs more than the drug's max_piece_price. Drugs outside
-- ref_drug are 'unknown'. Its billed prices are read from
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

-- conv_stock reads the billed price of an institution's drug from
-- conv_drug_unit (the same median of the same drug lines, one row per
-- institution and drug) instead of joining every drug line to its
-- settlement a second time: at 1 M persons that join took 4.5 of the
-- view's 5.2 s. A scan builds conv_drug_unit first and conv_stock from it.
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
