-- card_misuse.round_amounts: more than round_share of a card's (at least
-- min_swipes) pharmacy swipes are whole multiples of round_yuan (the bill
-- total of the swipe's settlement, or the swipe amount when unmatched), counted
-- only at pharmacies whose own round-amount baseline is below
-- org_round_share_max (shops that price in whole yuan are left out).
-- Hospital and clinic totals are sums of regulated service prices and are
-- not counted. Subject: the card. Runs as is in the DuckDB CLI.
WITH sw AS (
    -- the bill total is what a cash-out rounds; a swipe matched to its
    -- settlement is judged on that total, whatever part the terminal reports
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, w.swiped_at, w.amount, w.settlement_id,
           coalesce(s.total_amount, w.amount) % CAST(coalesce(getvariable('round_yuan'), 50) AS DECIMAL(18,2)) = 0 AS is_round
    FROM card_swipes w JOIN institutions i ON i.org_code = w.org_code
    LEFT JOIN settlements s ON s.settlement_id = w.settlement_id
    WHERE w.kind IN ('purchase', 'settlement') AND w.amount > 0 AND i.kind = 'pharmacy'
),
org AS (
    SELECT org_code, count(*) AS swipes, avg(is_round::INTEGER) AS round_share FROM sw GROUP BY org_code
),
counted AS (
    SELECT sw.*, o.round_share AS org_round_share, o.swipes AS org_swipes
    FROM sw JOIN org o USING (org_code)
    WHERE o.round_share < coalesce(getvariable('org_round_share_max'), 0.2)
),
card AS (
    SELECT card_no, count(*) AS n, count(*) FILTER (WHERE is_round) AS k,
           avg(org_round_share) AS baseline
    FROM counted GROUP BY card_no
    HAVING count(*) >= CAST(coalesce(getvariable('min_swipes'), 5) AS INTEGER)
       AND count(*) FILTER (WHERE is_round) > coalesce(getvariable('round_share'), 0.6) * count(*)
),
lst AS (
    SELECT c.card_no, arg_max(c2.org_code, (c2.is_round, c2.org_code)) AS org_code, min(c2.person_id) AS person_id,
           sum(CASE WHEN c2.is_round THEN coalesce(s.fund_paid + s.account_paid, c2.amount) ELSE 0 END) AS insured,
           list(json_object('swipe_id', c2.swipe_id, 'at', strftime(c2.swiped_at, '%Y-%m-%d %H:%M:%S'),
                            'amount', c2.amount::VARCHAR, 'round', c2.is_round, 'settlement_id', c2.settlement_id,
                            'org', json_object('org_code', c2.org_code, 'name', i.name, 'round_share_baseline', round(c2.org_round_share, 4)))
                ORDER BY c2.swiped_at, c2.swipe_id) AS facts
    FROM card c JOIN counted c2 USING (card_no)
    LEFT JOIN settlements s ON s.settlement_id = c2.settlement_id
    LEFT JOIN institutions i ON i.org_code = c2.org_code
    GROUP BY c.card_no
)
SELECT c.card_no AS subject_id,
       l.org_code,
       least(0.95, 0.5 + (c.k / c.n - coalesce(getvariable('round_share'), 0.6)) + 0.03 * (c.k - 3)) AS score,
       l.insured AS amount_at_risk,
       '卡' || c.card_no || '的' || c.n || '笔刷卡中有' || c.k || '笔为' || coalesce(getvariable('round_yuan'), 50) ||
           '元整数倍（' || round(100 * c.k / c.n)::INTEGER || '%，机构基线' || round(100 * c.baseline, 1) || '%）' AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', l.person_id, 'swipes', c.n, 'round_swipes', c.k,
                   'round_share', round(c.k / c.n, 4), 'org_baseline_round_share', round(c.baseline, 4),
                   'expected_round_swipes', round(c.baseline * c.n, 3),
                   'list', to_json(list_slice(l.facts, 1, 30))) AS facts,
       json_object('share_over_threshold', c.k / c.n - coalesce(getvariable('round_share'), 0.6), 'count', 0.03 * (c.k - 3)) AS score_parts
FROM card c JOIN lst l USING (card_no)
