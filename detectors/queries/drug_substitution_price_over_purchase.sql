-- drug_substitution.price_over_purchase (超加价): per org and drug, the
-- median billed unit price above max_ratio × the org's average purchase
-- price from its 进销存 (medians, so that a few odd lines do not decide).
-- Subject: the institution. Runs as is in the DuckDB CLI.
WITH bought AS (
    SELECT org_code, item_code, sum(quantity * unit_price) / sum(quantity) AS purchase_price, sum(quantity) AS bought_qty
    FROM stock_movements WHERE kind = 'purchase' AND unit_price > 0 AND quantity > 0
    GROUP BY ALL
),
priced AS (   -- per org, stocked drug and unit price (an org bills a drug at a few prices)
    SELECT org_code, item_code, unit_price AS price, min(item_name) AS item_name,
           sum(lines)::BIGINT AS lines, sum(qty) AS q, sum(amt) AS amt, sum(insured) AS insured_amt
    FROM drug_lines_monthly
    WHERE pos_total AND (org_code, item_code) IN (SELECT (org_code, item_code) FROM bought)
    GROUP BY org_code, item_code, unit_price
),
counted AS (   -- n priced lines, and the lines up to each price (NULL prices last)
    SELECT *, sum(lines) FILTER (WHERE price IS NOT NULL) OVER (PARTITION BY org_code, item_code) AS n,
           sum(lines) OVER (PARTITION BY org_code, item_code ORDER BY price NULLS LAST ROWS UNBOUNDED PRECEDING) AS upto
    FROM priced
),
-- the median billed price from the prices' counts: the middle one or two
-- lines' prices (0-based positions (n-1)/2 and n/2), as median() over the
-- lines gives them, without holding every line's price
billed AS (
    SELECT org_code, item_code, min(item_name) AS item_name,
           list_median([min(price) FILTER (WHERE upto > (n - 1) // 2), min(price) FILTER (WHERE upto > n // 2)]) AS billed_price,
           sum(lines)::BIGINT AS lines, sum(q) AS q, sum(amt) AS amt, sum(insured_amt) AS insured_amt
    FROM counted
    GROUP BY org_code, item_code
),
hits AS (
    SELECT b.*, p.purchase_price, p.bought_qty, b.billed_price / p.purchase_price AS ratio,
           -- the share of the billed amount above max_ratio × purchase price
           (b.insured_amt * greatest(1 - coalesce(getvariable('max_ratio'), 1.5) * p.purchase_price / b.billed_price, 0))::DECIMAL(18,2) AS at_risk
    FROM billed b JOIN bought p USING (org_code, item_code)
    WHERE b.billed_price > coalesce(getvariable('max_ratio'), 1.5) * p.purchase_price
),
peer AS (
    SELECT median(b.billed_price / p.purchase_price) AS peer_ratio FROM billed b JOIN bought p USING (org_code, item_code)
),
per_org AS (
    SELECT org_code, count(*) AS items, max(ratio) AS max_ratio, median(ratio) AS med_ratio, sum(at_risk) AS at_risk, sum(lines) AS lines,
           list(json_object('item_code', item_code, 'item_name', item_name, 'median_billed_price', round(billed_price, 2),
                            'avg_purchase_price', round(purchase_price, 2), 'ratio', round(ratio, 3), 'lines', lines,
                            'billed_qty', q, 'purchased_qty', bought_qty, 'amount_at_risk', at_risk::VARCHAR)
                ORDER BY ratio DESC, item_code) AS facts
    FROM hits GROUP BY org_code
)
SELECT p.org_code AS subject_id,
       p.org_code,
       least(0.99, 1 - (1 - Logistic) * (1 - least(0.03 * (p.items - 1), 0.5))) AS score,
       p.at_risk AS amount_at_risk,
       coalesce(i.name, p.org_code) || '有' || p.items || '种药品的结算单价中位数超过其平均进价的' || coalesce(getvariable('max_ratio'), 1.5) ||
           '倍（中位' || round(p.med_ratio, 2) || '倍，最高' || round(p.max_ratio, 2) || '倍；全部机构中位' || round(pe.peer_ratio, 2) ||
           '倍），超加价部分涉及基金及个人账户' || p.at_risk || '元' AS summary,
       json_object('org', json_object('org_code', p.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                   'items_over', p.items, 'median_ratio', round(p.med_ratio, 3), 'peer_median_ratio', round(pe.peer_ratio, 3),
                   'lines', to_json(list_slice(p.facts, 1, 30))) AS facts,
       json_object('margin', Logistic, 'breadth', least(0.03 * (p.items - 1), 0.5)) AS score_parts
FROM per_org p CROSS JOIN peer pe LEFT JOIN institutions i ON i.org_code = p.org_code,
LATERAL (SELECT 1 / (1 + exp(-(p.med_ratio / coalesce(getvariable('max_ratio'), 1.5) - 1) / 0.1)) AS Logistic)
WHERE p.at_risk >= coalesce(getvariable('min_amount_yuan'), 100);
