-- drug_substitution.sales_exceed_stock (GZ10000202001000 进销存异常): per
-- org, drug and month, the quantity billed in fee_items beyond what the
-- 进销存 can supply (opening stock + purchases − returns + adjustments, the
-- adjustments given the benefit of the doubt). Conventions learned from the
-- data (conv_stock): an item the org never purchased has no stock data and is
-- not judged; stock before the first purchase is unknown, so only months from
-- the first purchase on count, and any deficit within the first restocking
-- cycle (the months that start before the first purchase + the learned
-- cadence: the first month for weekly or monthly restocking, more for bulk)
-- is taken as opening stock; a billed quantity in pieces against stock counted in boxes
-- (拆零) is converted with the price ratio at the highest usual markup (1.5).
-- A month is flagged when its excess is above excess_share of the billed
-- quantity and above min_excess_units.
-- Subject: the institution. Runs as is in the DuckDB CLI.
WITH stocked AS (
    SELECT org_code, item_code, date_trunc('month', first_purchase)::DATE AS first_month,
           (first_purchase + to_days(CAST(coalesce(cadence_days, 0) AS INTEGER) + 1))::DATE AS opening_until,
           cadence, stock_unit_ratio
    FROM conv_stock
),
-- billed quantity per org, drug and month, summed before the stock table is
-- joined: joined on item_code alone first, the lines would multiply by the
-- orgs stocking it, and a materialized list of the drug lines held 1.3 GB
-- at 1 M persons (months from the first purchase's month on are the
-- months whose lines are charged from first_month on)
per_month AS (
    SELECT org_code, item_code, m, sum(qty) AS qty, sum(amt) AS amt, min(item_name) AS item_name,
           sum(insured) AS insured_amt, sum(lines)::BIGINT AS lines
    FROM drug_lines_monthly WHERE pos_total
    GROUP BY org_code, item_code, m
),
billed AS (
    SELECT l.org_code, l.item_code, l.m,
           l.qty / (st.stock_unit_ratio * CASE WHEN st.stock_unit_ratio > 1 THEN 1.5 ELSE 1 END) AS q,
           l.amt, l.item_name, l.insured_amt, l.lines
    FROM per_month l
    JOIN stocked st ON st.org_code = l.org_code AND st.item_code = l.item_code
    WHERE l.m >= st.first_month
),
mv AS (
    SELECT org_code, item_code, date_trunc('month', moved_on)::DATE AS m,
           sum(quantity) FILTER (WHERE kind = 'purchase') AS bought,
           sum(quantity) FILTER (WHERE kind = 'return') AS returned,
           sum(quantity) FILTER (WHERE kind = 'adjustment') AS adjusted
    FROM stock_movements SEMI JOIN stocked USING (org_code, item_code) GROUP BY ALL
),
j AS (
    SELECT coalesce(b.org_code, mv.org_code) AS org_code, coalesce(b.item_code, mv.item_code) AS item_code,
           coalesce(b.m, mv.m) AS m, coalesce(b.q, 0) AS q, coalesce(b.amt, 0) AS amt, coalesce(b.insured_amt, 0) AS insured_amt,
           b.item_name, coalesce(mv.bought, 0) AS bought, coalesce(mv.returned, 0) AS returned, coalesce(mv.adjusted, 0) AS adjusted
    FROM billed b FULL JOIN mv ON mv.org_code = b.org_code AND mv.item_code = b.item_code AND mv.m = b.m
),
run AS (
    SELECT j.*, st.first_month, st.opening_until, st.cadence, st.stock_unit_ratio,
           sum(q - bought + returned - adjusted) OVER w AS deficit
    FROM j JOIN stocked st USING (org_code, item_code)
    WHERE j.m >= st.first_month
    WINDOW w AS (PARTITION BY org_code, item_code ORDER BY m ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
run2 AS (
    SELECT *,
           max(deficit) OVER w AS peak,
           max(CASE WHEN m < opening_until THEN greatest(deficit, 0) ELSE 0 END) OVER (PARTITION BY org_code, item_code) AS opening_allowance,
           sum(q - bought + returned - adjusted) OVER w - (q - bought + returned - adjusted) AS deficit_before
    FROM run
    WINDOW w AS (PARTITION BY org_code, item_code ORDER BY m ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
months AS (
    SELECT *,
           greatest(peak - opening_allowance, 0)
             - greatest(coalesce(lag(peak) OVER (PARTITION BY org_code, item_code ORDER BY m), 0) - opening_allowance, 0) AS excess
    FROM run2
),
flagged AS (
    SELECT m.*, coalesce(m.item_name, c.item_name) AS name,
           m.amt / nullif(m.q, 0) AS avg_price,
           m.insured_amt / nullif(m.amt, 0) AS insured_share
    FROM months m LEFT JOIN (SELECT item_code, min(item_name) AS item_name FROM catalog GROUP BY 1) c USING (item_code)
    WHERE m.excess > coalesce(getvariable('excess_share'), 0.05) * m.q
      AND m.excess > coalesce(getvariable('min_excess_units'), 10)
),
per_org AS (
    SELECT org_code, count(*) AS months, count(DISTINCT item_code) AS items, sum(excess) AS excess, sum(q) AS billed,
           sum((excess * avg_price * insured_share)::DECIMAL(18,2)) AS at_risk,
           max(excess / q) AS max_share,
           list(json_object('item_code', item_code, 'item_name', name, 'month', strftime(m, '%Y-%m'),
                            'billed_qty', q, 'purchased_qty', bought, 'returned_qty', returned, 'adjusted_qty', adjusted,
                            'restock_cadence', cadence, 'stock_unit_ratio', round(stock_unit_ratio, 2),
                            'stock_deficit_before_month', greatest(deficit_before - opening_allowance, 0),
                            'excess_qty', excess, 'excess_share', round(excess / q, 4),
                            'avg_unit_price', round(avg_price, 2), 'fund_account_share', round(insured_share, 4),
                            'amount_at_risk', (excess * avg_price * insured_share)::DECIMAL(18,2)::VARCHAR)
                ORDER BY excess * avg_price DESC, item_code, m) AS facts
    FROM flagged GROUP BY org_code
)
SELECT p.org_code AS subject_id,
       p.org_code,
       least(0.99, NoisyOr) AS score,
       p.at_risk AS amount_at_risk,
       coalesce(i.name, p.org_code) || '有' || p.items || '种药品、' || p.months || '个品种月的医保结算数量超过进销存可供数量，合计超出' ||
           round(p.excess, 0) || '（最高超出当月结算量的' || round(100 * p.max_share, 0) || '%），涉及基金及个人账户' || p.at_risk || '元' AS summary,
       json_object('org', json_object('org_code', p.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                   'flagged_item_months', p.months, 'items', p.items, 'excess_qty', p.excess, 'billed_qty_in_flagged_months', p.billed,
                   'lines', to_json(list_slice(p.facts, 1, 30))) AS facts,
       json_object('margin', 1 - power(0.5, p.max_share / coalesce(getvariable('excess_share'), 0.05) / 4), 'breadth', 0.05 * p.months) AS score_parts
FROM per_org p LEFT JOIN institutions i ON i.org_code = p.org_code,
LATERAL (SELECT 1 - power(0.5, p.max_share / coalesce(getvariable('excess_share'), 0.05) / 4) * (1 - least(0.05 * p.months, 0.9)) AS NoisyOr)
