-- drug_substitution.price_vs_peers: per org, drug and month, the median
-- billed unit price against the median of the other orgs' medians for the
-- same item_code in the same region and month: above high_ratio or below
-- low_ratio (at least min_peers peers). An org is flagged when at least
-- min_items of its drugs are out of band in some month. Peers bill in the
-- same quantity unit (conv_drug_unit: a tablet's price is not a box's,
-- 拆零). Subject: the institution. Runs as is in the DuckDB CLI.
WITH priced AS (   -- per org, drug, month and unit price: an org's price rarely changes within a month
    SELECT org_code, treatment_region AS region, item_code, m, unit_price AS price,
           min(item_name) AS item_name, sum(lines)::BIGINT AS lines, sum(insured) AS insured_amt
    FROM drug_lines_monthly WHERE pos_total
    GROUP BY org_code, treatment_region, item_code, m, unit_price
),
counted AS (   -- n priced lines, and the lines up to each price (NULL prices last)
    SELECT *, sum(lines) FILTER (WHERE price IS NOT NULL) OVER (PARTITION BY org_code, region, item_code, m) AS n,
           sum(lines) OVER (PARTITION BY org_code, region, item_code, m ORDER BY price NULLS LAST ROWS UNBOUNDED PRECEDING) AS upto
    FROM priced
),
-- the median billed price of each org, drug and month from the prices'
-- counts: the middle one or two lines' prices (0-based positions (n-1)/2
-- and n/2), as median() over the lines gives them, without holding every
-- line's price; the quantity unit joins the groups, not the lines
om AS (
    SELECT c.org_code, c.region, c.item_code, c.m, min(c.item_name) AS item_name,
           list_median([min(c.price) FILTER (WHERE c.upto > (c.n - 1) // 2), min(c.price) FILTER (WHERE c.upto > c.n // 2)]) AS price,
           sum(c.lines)::BIGINT AS lines, sum(c.insured_amt) AS insured_amt, coalesce(any_value(u.qty_unit), 'unknown') AS qty_unit
    FROM counted c LEFT JOIN conv_drug_unit u ON u.org_code = c.org_code AND u.item_code = c.item_code
    GROUP BY c.org_code, c.region, c.item_code, c.m
),
-- each org's peers are the other orgs of its region, drug, month and
-- quantity unit; the median of their prices is read off the group's sorted
-- prices without one copy of the org's own (the middle one or two of the
-- others, by position), not from a join of every org with every other
-- (3.9 of 7.7 s at 1 M persons). Only the flagged months join their peers,
-- for the MAD in the evidence.
grp AS (
    SELECT region, item_code, m, qty_unit, count(*) AS orgs,
           coalesce(list(price ORDER BY price) FILTER (WHERE price IS NOT NULL), []) AS prices
    FROM om GROUP BY region, item_code, m, qty_unit
),
loo AS (
    SELECT a.org_code, a.item_code, a.m, g.orgs - 1 AS peers, g.prices,
           CASE WHEN a.price IS NULL THEN len(g.prices) + 1 ELSE list_position(g.prices, a.price) END AS own,
           len(g.prices) - CASE WHEN a.price IS NULL THEN 0 ELSE 1 END AS k
    FROM om a JOIN grp g USING (region, item_code, m, qty_unit)
    WHERE g.orgs > 1
),
peers AS (
    SELECT org_code, item_code, m, peers,
           CASE WHEN k > 0 THEN list_median([prices[(k + 1) // 2 + CASE WHEN (k + 1) // 2 >= own THEN 1 ELSE 0 END],
                                             prices[k // 2 + 1 + CASE WHEN k // 2 + 1 >= own THEN 1 ELSE 0 END]]) END AS peer_median
    FROM loo
),
flagged AS (
    SELECT om.*, p.peer_median, p.peers, om.price / p.peer_median AS ratio,
           CASE WHEN om.price > coalesce(getvariable('high_ratio'), 1.3) * p.peer_median
                THEN (om.insured_amt * (1 - p.peer_median / om.price))::DECIMAL(18,2) ELSE 0 END AS at_risk
    FROM om JOIN peers p USING (org_code, item_code, m)
    WHERE p.peers >= CAST(coalesce(getvariable('min_peers'), 3) AS INTEGER) AND p.peer_median > 0
      AND (om.price > coalesce(getvariable('high_ratio'), 1.3) * p.peer_median
           OR om.price < coalesce(getvariable('low_ratio'), 0.5) * p.peer_median)
),
out AS (
    SELECT a.*, (SELECT mad(b.price) FROM om b
                 WHERE b.region = a.region AND b.item_code = a.item_code AND b.m = a.m AND b.org_code <> a.org_code
                   AND b.qty_unit = a.qty_unit) AS peer_mad
    FROM flagged a
),
per_org AS (
    SELECT org_code, count(DISTINCT item_code) AS items, count(*) AS item_months,
           count(*) FILTER (WHERE ratio > 1) AS high, count(*) FILTER (WHERE ratio < 1) AS low,
           median(ratio) AS med_ratio, sum(at_risk) AS at_risk,
           list(json_object('item_code', item_code, 'item_name', item_name, 'month', strftime(m, '%Y-%m'),
                            'median_billed_price', round(price, 2), 'peer_median_price', round(peer_median, 2),
                            'peer_mad', round(peer_mad, 2), 'peers', peers, 'quantity_unit', qty_unit, 'ratio', round(ratio, 3), 'lines', lines,
                            'robust_z', CASE WHEN peer_mad > 0 THEN round(0.6745 * (price - peer_median) / peer_mad, 2) END,
                            'amount_at_risk', at_risk::VARCHAR)
                ORDER BY abs(ln(ratio)) DESC, item_code, m) AS facts
    FROM out GROUP BY org_code
    HAVING count(DISTINCT item_code) >= CAST(coalesce(getvariable('min_items'), 3) AS INTEGER)
)
SELECT p.org_code AS subject_id,
       p.org_code,
       least(0.99, 1 - (1 - 1 / (1 + exp(-abs(ln(p.med_ratio)) / 0.2))) * (1 - least(0.02 * p.items, 0.5))) AS score,
       p.at_risk AS amount_at_risk,
       coalesce(i.name, p.org_code) || '有' || p.items || '种药品（' || p.item_months || '个品种月）的结算单价偏离同区划同月同品种机构中位价（高于' ||
           coalesce(getvariable('high_ratio'), 1.3) || '倍' || p.high || '个，低于' || coalesce(getvariable('low_ratio'), 0.5) || '倍' || p.low ||
           '个；中位比值' || round(p.med_ratio, 2) || '），高价部分涉及基金及个人账户' || p.at_risk || '元' AS summary,
       json_object('org', json_object('org_code', p.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                   'items', p.items, 'item_months', p.item_months, 'above', p.high, 'below', p.low, 'median_ratio', round(p.med_ratio, 3),
                   'lines', to_json(list_slice(p.facts, 1, 30))) AS facts,
       json_object('margin', 1 / (1 + exp(-abs(ln(p.med_ratio)) / 0.2)), 'breadth', least(0.02 * p.items, 0.5)) AS score_parts
FROM per_org p LEFT JOIN institutions i ON i.org_code = p.org_code
