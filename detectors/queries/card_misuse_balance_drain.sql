-- card_misuse.balance_drain: a balance query followed within window_minutes
-- by a purchase that takes at least drain_share of the queried personal
-- account balance; or an account of at least min_balance_yuan emptied to
-- below (1 − drain_share) of it by at most max_purchases purchases within a
-- day. Balances are the swipes' balance_after. Subject: the card. Runs as is
-- in the DuckDB CLI.
-- (sw NOT MATERIALIZED: its three readers each join the settlements again,
-- which costs less than storing and reading back every swipe: at 1 M
-- persons 3.3–3.4 s of CPU against 4.7–4.8 s)
WITH sw AS NOT MATERIALIZED (
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, w.swiped_at, w.kind, w.amount, w.settlement_id, w.balance_after,
           s.account_paid, s.fund_paid
    FROM card_swipes w LEFT JOIN settlements s ON s.settlement_id = w.settlement_id
    WHERE w.kind IN ('balance_query', 'purchase', 'settlement')
),
queried AS (
    SELECT q.card_no, q.swipe_id AS query_id, q.swiped_at AS query_at, q.balance_after AS balance,
           p.swipe_id, p.swiped_at, p.org_code, p.amount, p.account_paid, p.fund_paid, p.settlement_id, p.person_id,
           p.account_paid / q.balance_after AS share, 'query_then_drain' AS pattern
    FROM sw q JOIN sw p ON p.card_no = q.card_no AND p.kind <> 'balance_query'
     AND p.swiped_at BETWEEN q.swiped_at AND q.swiped_at + to_minutes(CAST(coalesce(getvariable('window_minutes'), 10) AS BIGINT))
    WHERE q.kind = 'balance_query' AND q.balance_after > 0
      AND p.account_paid >= coalesce(getvariable('drain_share'), 0.95) * q.balance_after
),
runs AS (
    -- balance before a purchase = its balance_after + account_paid
    SELECT card_no, swipe_id, swiped_at, org_code, amount, account_paid, fund_paid, settlement_id, person_id, balance_after,
           first_value(balance_after + account_paid) OVER w3 AS start_balance,
           count(*) OVER w3 AS k
    FROM sw
    WHERE kind = 'purchase' AND balance_after IS NOT NULL AND account_paid > 0
    WINDOW w3 AS (PARTITION BY card_no ORDER BY swiped_at RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW)
),
drained AS (
    SELECT card_no, NULL AS query_id, NULL::TIMESTAMP AS query_at, start_balance AS balance,
           swipe_id, swiped_at, org_code, amount, account_paid, fund_paid, settlement_id, person_id,
           1 - balance_after / start_balance AS share, 'drained_in_' || k || '_purchases' AS pattern
    FROM runs
    WHERE start_balance >= coalesce(getvariable('min_balance_yuan'), 1000)
      AND k <= CAST(coalesce(getvariable('max_purchases'), 3) AS INTEGER)
      AND balance_after <= (1 - coalesce(getvariable('drain_share'), 0.95)) * start_balance
),
hits AS (
    SELECT * FROM queried
    UNION ALL
    SELECT * FROM drained WHERE swipe_id NOT IN (SELECT swipe_id FROM queried)
),
per_card AS (
    SELECT h.card_no, arg_max(h.org_code, (h.share, h.org_code)) AS org_code, min(h.person_id) AS person_id, count(*) AS n,
           max(h.share) AS share, max(h.balance) AS balance, sum(h.account_paid + h.fund_paid) AS insured,
           bool_or(h.pattern = 'query_then_drain') AS queried,
           list(json_object('pattern', h.pattern, 'balance_query_at', strftime(h.query_at, '%Y-%m-%d %H:%M:%S'),
                            'balance_before', h.balance::VARCHAR, 'purchase_at', strftime(h.swiped_at, '%Y-%m-%d %H:%M:%S'),
                            'swipe_id', h.swipe_id, 'settlement_id', h.settlement_id, 'amount', h.amount::VARCHAR,
                            'account_paid', h.account_paid::VARCHAR, 'share_of_balance', round(h.share, 4),
                            'org', json_object('org_code', h.org_code, 'name', i.name))
                ORDER BY h.swiped_at, h.swipe_id) AS facts
    FROM hits h LEFT JOIN institutions i ON i.org_code = h.org_code
    GROUP BY h.card_no
)
SELECT c.card_no AS subject_id,
       c.org_code,
       least(0.95, (CASE WHEN c.queried THEN 0.7 ELSE 0.55 END) + 2 * (c.share - coalesce(getvariable('drain_share'), 0.95)) + 0.05 * (c.n - 1)) AS score,
       c.insured AS amount_at_risk,
       '卡' || c.card_no || (CASE WHEN c.queried THEN '查询余额后' || coalesce(getvariable('window_minutes'), 10) || '分钟内' ELSE '短时间内' END) ||
           '在' || coalesce(i.name, c.org_code) || '购药，个人账户支付达余额' || c.balance || '元的' || round(100 * c.share, 1) || '%' AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', c.person_id, 'drains', c.n, 'max_share_of_balance', round(c.share, 4),
                   'events', to_json(list_slice(c.facts, 1, 10))) AS facts,
       json_object('pattern', CASE WHEN c.queried THEN 0.7 ELSE 0.55 END, 'margin', 2 * (c.share - coalesce(getvariable('drain_share'), 0.95)),
                   'repeats', 0.05 * (c.n - 1)) AS score_parts
FROM per_card c LEFT JOIN institutions i ON i.org_code = c.org_code
