-- drug_substitution.non_covered_billed: class C (丙类, not covered) goods
-- billed to the fund or the personal account. The catalogue class for
-- (item_code, date) overrides the class written on the line. A line counts
-- when it is written with a better class than the catalogue's C and its
-- settlement was paid by the fund or the account. An org is flagged from
-- min_lines such lines (fewer are left to coding-error review); class C
-- lines written as C on which the fund paid more than the settlement's
-- covered (non-C) amount are listed as supporting evidence (one such
-- settlement is settlement.c_class_paid's). Subject: the institution. Runs
-- as is in the DuckDB CLI.
WITH cand AS (
    -- settlements with a line that is class C on the line or in some catalogue version
    SELECT DISTINCT settlement_id FROM fee_items
    WHERE catalog_class = 'C' OR item_code IN (SELECT item_code FROM catalog WHERE catalog_class = 'C')
),
-- the candidate settlements' lines with the catalogue's class for their
-- date; read twice (inlined, not materialized): once narrow for each
-- settlement's covered amount, once for its class C lines. One grouped
-- pass gathering each settlement's C lines into a list held every list in
-- memory and ran out of a 1 GB limit at 2.5 M persons; these are a hash
-- aggregate and hash joins, which spill.
lines AS NOT MATERIALIZED (
    SELECT f.settlement_id, f.item_id, f.item_code, f.item_name,
           f.catalog_class AS line_class, coalesce(c.catalog_class, f.catalog_class) AS class, f.amount, f.quantity, f.unit_price,
           f.charged_at, c.catalog_class IS NOT NULL AND c.catalog_class <> f.catalog_class AS misclassed
    FROM fee_items f
    SEMI JOIN cand ON cand.settlement_id = f.settlement_id
    LEFT JOIN catalog c ON c.item_code = f.item_code AND f.charged_at::DATE >= c.valid_from
         AND f.charged_at::DATE <= coalesce(c.valid_to, DATE '9999-12-31')
),
covered AS (   -- per candidate settlement: its covered (non-C) amount
    SELECT settlement_id, sum(amount) FILTER (WHERE class <> 'C') AS covered FROM lines GROUP BY settlement_id
),
hits AS (
    SELECT l.*, s.org_code, s.fund_paid, s.account_paid, s.total_amount, v.covered,
           CASE WHEN l.misclassed THEN 'written_as_' || l.line_class ELSE 'fund_above_covered' END AS problem,
           -- the fund + account share of the line, capped by what the fund paid above the covered amount when not misclassed
           (CASE WHEN l.misclassed THEN l.amount * (s.fund_paid + s.account_paid) / s.total_amount
                 ELSE least(l.amount, s.fund_paid - coalesce(v.covered, 0)) END)::DECIMAL(18,2) AS at_risk
    FROM lines l
    JOIN settlements s ON s.settlement_id = l.settlement_id
    JOIN covered v ON v.settlement_id = l.settlement_id
    WHERE l.class = 'C' AND s.total_amount > 0 AND s.fund_paid + s.account_paid > 0
      AND (l.misclassed OR s.fund_paid > coalesce(v.covered, 0) + 0.01)
),
per_org AS (
    SELECT org_code, count(*) AS n, count(*) FILTER (WHERE misclassed) AS misclassed, count(DISTINCT settlement_id) AS settlements,
           count(DISTINCT item_code) AS items, sum(at_risk) AS at_risk,
           list(json_object('item_id', item_id, 'settlement_id', settlement_id, 'item_code', item_code, 'item_name', item_name,
                            'line_class', line_class, 'catalogue_class', class, 'problem', problem,
                            'charged_at', strftime(charged_at, '%Y-%m-%d %H:%M:%S'), 'quantity', quantity, 'unit_price', unit_price::VARCHAR,
                            'amount', amount::VARCHAR, 'fund_paid', fund_paid::VARCHAR, 'account_paid', account_paid::VARCHAR,
                            'covered_amount', covered::VARCHAR, 'amount_at_risk', at_risk::VARCHAR)
                ORDER BY charged_at, item_id) AS facts,
           string_agg(DISTINCT item_code || ' ' || item_name, '、' ORDER BY item_code || ' ' || item_name) AS names
    FROM hits GROUP BY org_code
    HAVING count(*) FILTER (WHERE misclassed) >= CAST(coalesce(getvariable('min_lines'), 3) AS INTEGER)
)
SELECT p.org_code AS subject_id,
       p.org_code,
       least(0.99, 0.6 + 0.3 * p.misclassed / p.n + 0.01 * least(p.n, 9)) AS score,
       p.at_risk AS amount_at_risk,
       coalesce(i.name, p.org_code) || '有' || p.n || '条丙类（目录外）项目由基金或个人账户支付（' || p.names || '；其中' || p.misclassed ||
           '条按甲/乙类申报），涉及' || p.settlements || '张结算单、' || p.at_risk || '元' AS summary,
       json_object('org', json_object('org_code', p.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                   'lines_flagged', p.n, 'lines_misclassed', p.misclassed, 'settlements', p.settlements, 'items', p.items,
                   'lines', to_json(list_slice(p.facts, 1, 30))) AS facts,
       json_object('base', 0.6, 'misclassed', 0.3 * p.misclassed / p.n, 'count', 0.01 * least(p.n, 9)) AS score_parts
FROM per_org p LEFT JOIN institutions i ON i.org_code = p.org_code
