-- drug_substitution.trace_dup: the same drug traceability code (药品追溯码,
-- one per box) settled more than once. A re-scan after a voided sale (the
-- earlier settlement was refunded) is not counted. An org is flagged from
-- min_dups duplicate settlements. Subject: the institution (where the
-- duplicate was settled). Runs as is in the DuckDB CLI.
WITH reused AS (   -- the codes on more than one line: only their lines are ordered (a code's lines all, or none)
    SELECT trace_code FROM fee_items WHERE trace_code IS NOT NULL AND trace_code <> '' GROUP BY trace_code HAVING count(*) > 1
),
t AS (
    SELECT f.trace_code, f.item_id, f.item_code, f.item_name, f.amount, f.charged_at, s.settlement_id, s.org_code,
           s.fund_paid, s.account_paid, s.total_amount,
           row_number() OVER (PARTITION BY f.trace_code ORDER BY f.charged_at, f.item_id) AS nth,
           count(*) OVER (PARTITION BY f.trace_code) AS uses
    FROM fee_items f JOIN settlements s ON s.settlement_id = f.settlement_id
    WHERE f.trace_code IN (SELECT trace_code FROM reused)
),
refunded AS (
    SELECT DISTINCT settlement_id FROM card_swipes WHERE kind = 'refund' AND settlement_id IS NOT NULL
),
dups AS (
    SELECT d.*, first_value(d.org_code) OVER (PARTITION BY d.trace_code ORDER BY d.nth) AS first_org,
           -- a use is a re-scan when every earlier use of the code was refunded
           count(*) FILTER (WHERE r.settlement_id IS NULL) OVER (PARTITION BY d.trace_code ORDER BY d.nth
                                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS live_before
    FROM t d LEFT JOIN refunded r ON r.settlement_id = d.settlement_id
    WHERE d.uses > 1
),
hits AS (
    SELECT *, (amount * (fund_paid + account_paid) / total_amount)::DECIMAL(18,2) AS at_risk
    FROM dups WHERE nth > 1 AND live_before > 0 AND total_amount > 0
),
per_org AS (
    SELECT org_code, count(*) AS n, count(DISTINCT trace_code) AS codes, count(DISTINCT settlement_id) AS settlements,
           max(uses) AS max_uses, count(*) FILTER (WHERE first_org <> org_code) AS elsewhere, sum(at_risk) AS at_risk,
           list(json_object('trace_code', trace_code, 'item_code', item_code, 'item_name', item_name, 'settlement_id', settlement_id,
                            'item_id', item_id, 'charged_at', strftime(charged_at, '%Y-%m-%d %H:%M:%S'), 'use', nth, 'uses', uses,
                            'first_settled_at_org', first_org, 'amount', amount::VARCHAR, 'amount_at_risk', at_risk::VARCHAR)
                ORDER BY trace_code, nth) AS facts
    FROM hits GROUP BY org_code
    HAVING count(*) >= CAST(coalesce(getvariable('min_dups'), 2) AS INTEGER)
)
SELECT p.org_code AS subject_id,
       p.org_code,
       least(0.99, 0.8 + 0.02 * least(p.n, 9)) AS score,
       p.at_risk AS amount_at_risk,
       coalesce(i.name, p.org_code) || '有' || p.codes || '个药品追溯码被重复结算' || p.n || '次（单码最多' || p.max_uses ||
           '次，其中' || p.elsewhere || '次首次结算在其他机构），涉及基金及个人账户' || p.at_risk || '元' AS summary,
       json_object('org', json_object('org_code', p.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                   'duplicate_uses', p.n, 'trace_codes', p.codes, 'settlements', p.settlements, 'max_uses_of_one_code', p.max_uses,
                   'first_settled_elsewhere', p.elsewhere, 'lines', to_json(list_slice(p.facts, 1, 30))) AS facts,
       json_object('base', 0.8, 'count', 0.02 * least(p.n, 9)) AS score_parts
FROM per_org p LEFT JOIN institutions i ON i.org_code = p.org_code
