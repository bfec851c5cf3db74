-- drug_substitution.item_share features: per pharmacy or clinic and drug,
-- the fund + personal account amount billed and the org's total (the money
-- share), and the settlements (baskets) holding the drug and the org's
-- baskets (the basket share, whose log gets a robust z against the other
-- orgs of the same kind in Go: a few bulk purchases do not move it). The
-- lines join their settlement's narrow facts with the institution as its row
-- number and group on it; the code joins the groups (2.5 M persons:
-- 6.8-6.9 s against 4.9-5.0 s for the rule; 1 M: 1.76-1.81 against
-- 1.54-1.60 s; 100 k: 0.17 against 0.15 s). The settlement is found by
-- settlement_key (in a scan the id's hash: migration 0023; 10.0 M
-- settlements: 7.3-7.4 against 5.8-6.3 s). Runs as is in the DuckDB CLI.
WITH lines AS (
    SELECT s.org_no, f.item_code, f.quantity, s.srow, (f.amount * s.insured / s.total_amount)::DECIMAL(18,4) AS insured
    FROM fee_items f
    JOIN (SELECT settlement_key(s.settlement_id) AS skey, i.rowid AS org_no, s.rowid AS srow, s.fund_paid + s.account_paid AS insured, s.total_amount
          FROM settlements s
          JOIN institutions i ON i.org_code = s.org_code AND i.kind IN ('pharmacy', 'clinic')
          WHERE s.total_amount > 0) s ON s.skey = settlement_key(f.settlement_id)
    WHERE f.category = 'drug'
),
-- the items and the org's baskets in one grouped pass (grouping sets): two
-- readers of lines would make DuckDB materialize every drug line first
grouped AS (
    SELECT i.org_code, g.* EXCLUDE (org_no) FROM (
        SELECT org_no, item_code, grouping(item_code) AS org_row,
               sum(insured) AS insured, sum(quantity) AS qty, count(*) AS lines,
               count(DISTINCT srow) AS baskets
        FROM lines GROUP BY GROUPING SETS ((org_no, item_code), (org_no))) g
    JOIN institutions i ON i.rowid = g.org_no
),
per_item AS (
    SELECT org_code, item_code, insured, qty, lines, baskets FROM grouped WHERE org_row = 0
),
-- the drug's name as billed, from the scan's monthly drug lines
names AS (
    SELECT org_code, item_code, min(item_name) AS item_name FROM drug_lines_monthly WHERE pos_total GROUP BY ALL
),
org_baskets AS (
    SELECT org_code, baskets AS org_baskets FROM grouped WHERE org_row = 1
)
SELECT org_code, i.name AS org_name, i.kind AS org_kind, item_code, item_name, insured::DOUBLE AS insured,
       sum(insured) OVER (PARTITION BY org_code)::DOUBLE AS org_insured, qty::DOUBLE AS qty, lines,
       baskets, ob.org_baskets, insured::DECIMAL(18,2)::VARCHAR AS insured_yuan
FROM per_item JOIN org_baskets ob USING (org_code) JOIN institutions i USING (org_code) JOIN names n USING (org_code, item_code)
ORDER BY org_code, item_code
