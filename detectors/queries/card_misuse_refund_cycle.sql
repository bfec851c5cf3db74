-- card_misuse.refund_cycle (刷卡即退药): a purchase refunded within
-- refund_minutes, then the same amount bought again at the same org by the
-- same card within rebuy_hours; at least min_cycles such cycles within
-- window_days. Subject: the card. Runs as is in the DuckDB CLI.
-- (only the swipes of cards with a refund: every part of a cycle is on
-- the refund's card. Storing every card's swipes took 0.65-0.70 s at 1 M
-- persons and 3.9-4.3 s at 2.5 M, spilled; now 0.36 s and 0.89 s, the
-- same rows)
WITH sw AS (
    SELECT swipe_id, card_no, person_id, org_code, swiped_at, kind, amount, settlement_id
    FROM card_swipes WHERE kind IN ('purchase', 'settlement', 'refund')
      AND card_no IN (SELECT card_no FROM card_swipes WHERE kind = 'refund')
),
cycles AS (
    SELECT a.card_no, a.person_id, a.org_code, a.swipe_id AS sale_id, a.swiped_at AS sale_at, a.amount,
           a.settlement_id AS sale_settlement, r.swipe_id AS refund_id, r.swiped_at AS refund_at,
           b.swipe_id AS rebuy_id, b.swiped_at AS rebuy_at, b.settlement_id AS rebuy_settlement,
           row_number() OVER (PARTITION BY r.swipe_id ORDER BY b.swiped_at) AS rn
    FROM sw a
    JOIN sw r ON r.kind = 'refund' AND r.card_no = a.card_no AND r.settlement_id = a.settlement_id
     AND r.swiped_at >= a.swiped_at
     AND r.swiped_at <= a.swiped_at + to_minutes(CAST(coalesce(getvariable('refund_minutes'), 30) AS BIGINT))
    JOIN sw b ON b.kind <> 'refund' AND b.card_no = a.card_no AND b.org_code = a.org_code
     AND abs(b.amount - a.amount) <= 0.01 AND b.swipe_id <> a.swipe_id
     AND b.swiped_at > r.swiped_at
     AND b.swiped_at <= r.swiped_at + to_hours(CAST(coalesce(getvariable('rebuy_hours'), 24) AS BIGINT))
    WHERE a.kind <> 'refund'
),
c1 AS (
    SELECT *, count(*) OVER (PARTITION BY card_no ORDER BY sale_at
                             RANGE BETWEEN to_days(CAST(coalesce(getvariable('window_days'), 60) AS BIGINT)) PRECEDING AND CURRENT ROW) AS in_window
    FROM cycles WHERE rn = 1
),
per_card AS (
    SELECT c.card_no, arg_max(c.org_code, (c.in_window, c.org_code)) AS org_code, min(c.person_id) AS person_id,
           count(*) AS n, max(c.in_window) AS max_window, sum(c.amount) AS amount,
           list(json_object('sale_at', strftime(c.sale_at, '%Y-%m-%d %H:%M:%S'), 'sale_settlement_id', c.sale_settlement,
                            'refund_at', strftime(c.refund_at, '%Y-%m-%d %H:%M:%S'),
                            'minutes_to_refund', round(date_diff('second', c.sale_at, c.refund_at) / 60.0, 1),
                            'rebuy_at', strftime(c.rebuy_at, '%Y-%m-%d %H:%M:%S'), 'rebuy_settlement_id', c.rebuy_settlement,
                            'amount', c.amount::VARCHAR, 'org', json_object('org_code', c.org_code, 'name', i.name))
                ORDER BY c.sale_at, c.sale_id) AS facts
    FROM c1 c LEFT JOIN institutions i ON i.org_code = c.org_code
    GROUP BY c.card_no
    HAVING max(c.in_window) >= CAST(coalesce(getvariable('min_cycles'), 2) AS INTEGER)
),
paid AS (
    SELECT c.card_no, sum(s.fund_paid + s.account_paid) AS insured
    FROM c1 c JOIN settlements s ON s.settlement_id = c.rebuy_settlement
    GROUP BY c.card_no
)
SELECT c.card_no AS subject_id,
       c.org_code,
       least(0.95, 0.7 + 0.1 * (c.max_window - CAST(coalesce(getvariable('min_cycles'), 2) AS INTEGER))) AS score,
       coalesce(p.insured, c.amount) AS amount_at_risk,
       '卡' || c.card_no || '在' || coalesce(i.name, c.org_code) || '出现' || c.n || '次“购药—' || coalesce(getvariable('refund_minutes'), 30) ||
           '分钟内退费—同额再购”循环（' || coalesce(getvariable('window_days'), 60) || '天内最多' || c.max_window || '次），涉及' || c.amount || '元' AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', c.person_id, 'cycles', c.n, 'max_cycles_in_window', c.max_window,
                   'cycle_list', to_json(list_slice(c.facts, 1, 20))) AS facts,
       json_object('cycles', 0.7, 'extra_cycles', 0.1 * (c.max_window - CAST(coalesce(getvariable('min_cycles'), 2) AS INTEGER))) AS score_parts
FROM per_card c LEFT JOIN paid p USING (card_no) LEFT JOIN institutions i ON i.org_code = c.org_code
