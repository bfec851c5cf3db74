-- card_misuse.swipe_without_settlement: settlement or purchase swipes that
-- produced no settlement row, or whose amount matches neither amount a card
-- system may report (CONTRACT.md: the bill total or the insured part, fund +
-- account; conv_swipe_amount learns which one each institution uses). A
-- swipe without a settlement id is excused when a settlement of the same
-- card and org, for the amount the institution's convention reports (either
-- when undetermined or mixed), follows within the platform lag (24 h by
-- default). Subject: the card. Runs as is in the DuckDB CLI.
WITH sw AS (
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, w.swiped_at, w.kind, w.amount, w.settlement_id,
           s.settlement_id AS found_id, s.total_amount, s.fund_paid + s.account_paid AS insured_amount,
           coalesce(c.convention, 'undetermined') AS convention
    FROM card_swipes w
    LEFT JOIN settlements s ON s.settlement_id = w.settlement_id
    LEFT JOIN conv_swipe_amount c ON c.org_code = w.org_code
    WHERE w.kind IN ('settlement', 'purchase') AND w.amount > 0
),
orphans AS (
    SELECT * FROM sw WHERE found_id IS NULL
),
lagged AS (
    SELECT DISTINCT o.swipe_id
    FROM orphans o
    JOIN settlements s ON s.card_no = o.card_no AND s.org_code = o.org_code
     AND ((o.convention <> 'insured_part' AND abs(s.total_amount - o.amount) <= 0.01)
       OR (o.convention <> 'bill_total' AND abs(s.fund_paid + s.account_paid - o.amount) <= 0.01))
     AND s.settled_at BETWEEN o.swiped_at - INTERVAL 1 HOUR
                          AND o.swiped_at + to_hours(CAST(coalesce(getvariable('lag_hours'), 24) AS BIGINT))
    WHERE o.settlement_id IS NULL
),
hits AS (
    SELECT sw.*,
           CASE WHEN found_id IS NULL AND settlement_id IS NULL THEN 'no_settlement_id'
                WHEN found_id IS NULL THEN 'settlement_missing'
                ELSE 'amount_mismatch' END AS problem,
           CASE WHEN found_id IS NULL THEN amount
                ELSE least(abs(amount - total_amount), abs(amount - insured_amount)) END AS at_risk
    FROM sw
    WHERE (found_id IS NULL AND swipe_id NOT IN (SELECT swipe_id FROM lagged))
       OR (found_id IS NOT NULL AND abs(amount - total_amount) > 0.01 AND abs(amount - insured_amount) > 0.01)
),
per_card AS (
    SELECT h.card_no, arg_min(h.org_code, (h.swiped_at, h.org_code)) AS org_code, count(*) AS swipes,
           count(*) FILTER (WHERE h.problem <> 'amount_mismatch') AS without, sum(h.at_risk) AS at_risk,
           count(DISTINCT h.person_id) AS holders, min(h.person_id) AS person_id,
           list(json_object('swipe_id', h.swipe_id, 'at', strftime(h.swiped_at, '%Y-%m-%d %H:%M:%S'), 'kind', h.kind,
                            'amount', h.amount::VARCHAR, 'settlement_id', h.settlement_id, 'problem', h.problem,
                            'settlement_total', h.total_amount::VARCHAR,
                            'settlement_insured_part', h.insured_amount::VARCHAR, 'org_swipe_convention', h.convention,
                            'org', json_object('org_code', h.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level))
                ORDER BY h.swiped_at, h.swipe_id) AS facts
    FROM hits h LEFT JOIN institutions i ON i.org_code = h.org_code
    GROUP BY h.card_no
)
SELECT c.card_no AS subject_id,
       c.org_code,
       least(0.99, 0.85 + 0.05 * (c.swipes - 1)) AS score,
       c.at_risk AS amount_at_risk,
       '卡' || c.card_no || '有' || c.swipes || '笔刷卡无对应结算或金额不符（其中无结算' || c.without || '笔），涉及' ||
           c.at_risk || '元，首笔在' || coalesce(i.name, c.org_code) AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', c.person_id, 'swipes_flagged', c.swipes,
                   'without_settlement', c.without, 'swipes', to_json(list_slice(c.facts, 1, 20)),
                   'amount_flagged', c.at_risk::VARCHAR) AS facts,
       json_object('unmatched_swipe', 0.85, 'extra_swipes', 0.05 * (c.swipes - 1)) AS score_parts
FROM per_card c LEFT JOIN institutions i ON i.org_code = c.org_code
