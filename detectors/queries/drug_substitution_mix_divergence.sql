-- drug_substitution.mix_divergence features: per org that reports stock
-- movements and per drug, the quantity purchased (net of returns) and the
-- quantity billed, with names and prices, for the Jensen–Shannon divergence
-- of the purchase and billing mixes computed in Go. A drug billed in pieces
-- against stock counted in boxes (拆零, conv_stock.stock_unit_ratio > 1) has
-- its billed quantity and price read in boxes. Runs as is in the DuckDB CLI.
WITH stocked AS (
    SELECT DISTINCT org_code FROM stock_movements
),
bought AS (
    SELECT org_code, item_code,
           coalesce(sum(quantity) FILTER (WHERE kind = 'purchase'), 0) - coalesce(sum(quantity) FILTER (WHERE kind = 'return'), 0) AS bought,
           sum(quantity * unit_price) FILTER (WHERE kind = 'purchase') / sum(quantity) FILTER (WHERE kind = 'purchase') AS purchase_price
    FROM stock_movements GROUP BY ALL
),
billed AS (
    SELECT org_code, item_code, min(item_name) AS item_name, sum(qty) AS billed,
           sum(amt) / sum(qty) AS billed_price, sum(insured)::DECIMAL(18,2)::VARCHAR AS insured
    FROM drug_lines_monthly
    WHERE pos_total AND qty_pos AND org_code IN (SELECT org_code FROM stocked)
    GROUP BY org_code, item_code
)
SELECT coalesce(b.org_code, p.org_code) AS org_code, coalesce(i.name, '') AS org_name, coalesce(i.kind, '') AS org_kind,
       coalesce(b.item_code, p.item_code) AS item_code, coalesce(b.item_name, c.item_name, '') AS item_name,
       greatest(coalesce(p.bought, 0), 0)::DOUBLE AS bought, (coalesce(b.billed, 0) / coalesce(u.stock_unit_ratio, 1))::DOUBLE AS billed,
       coalesce(p.purchase_price, 0)::DOUBLE AS purchase_price, (coalesce(b.billed_price, 0) * coalesce(u.stock_unit_ratio, 1))::DOUBLE AS billed_price,
       coalesce(b.insured, '0') AS insured
FROM billed b
FULL JOIN bought p ON p.org_code = b.org_code AND p.item_code = b.item_code
LEFT JOIN conv_stock u ON u.org_code = coalesce(b.org_code, p.org_code) AND u.item_code = coalesce(b.item_code, p.item_code)
LEFT JOIN institutions i ON i.org_code = coalesce(b.org_code, p.org_code)
LEFT JOIN (SELECT item_code, min(item_name) AS item_name FROM catalog GROUP BY 1) c ON c.item_code = coalesce(b.item_code, p.item_code)
ORDER BY 1, 4
