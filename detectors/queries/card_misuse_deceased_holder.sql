-- card_misuse.deceased_holder: a card used after its holder's recorded death
-- date (settlement, purchase or balance query). Subject: the card. Runs as is
-- in the DuckDB CLI.
WITH hits AS (
    SELECT w.card_no, w.person_id, p.death_date, w.swipe_id, w.org_code, w.swiped_at, w.kind, w.amount,
           w.settlement_id, coalesce(s.fund_paid + s.account_paid, greatest(w.amount, 0)) AS insured
    FROM card_swipes w
    JOIN persons p ON p.person_id = w.person_id
    LEFT JOIN settlements s ON s.settlement_id = w.settlement_id
    WHERE p.death_date IS NOT NULL
      AND w.kind IN ('settlement', 'purchase', 'balance_query')
      AND w.swiped_at::DATE > p.death_date + CAST(coalesce(getvariable('grace_days'), 0) AS INTEGER)
),
per_card AS (
    SELECT h.card_no, min(h.person_id) AS person_id, min(h.death_date) AS death_date,
           arg_min(h.org_code, (h.swiped_at, h.org_code)) AS org_code, count(*) AS swipes, sum(h.insured) AS insured,
           min(h.swiped_at) AS first_at,
           list(json_object('swipe_id', h.swipe_id, 'at', strftime(h.swiped_at, '%Y-%m-%d %H:%M:%S'), 'kind', h.kind,
                            'amount', h.amount::VARCHAR, 'settlement_id', h.settlement_id,
                            'org', json_object('org_code', h.org_code, 'name', i.name, 'kind', i.kind, 'level', i.level),
                            'days_after_death', h.swiped_at::DATE - h.death_date) ORDER BY h.swiped_at, h.swipe_id) AS facts
    FROM hits h LEFT JOIN institutions i ON i.org_code = h.org_code
    GROUP BY h.card_no
)
SELECT c.card_no AS subject_id,
       c.org_code,
       least(0.99, 0.9 + 0.03 * (c.swipes - 1)) AS score,
       c.insured AS amount_at_risk,
       '卡' || c.card_no || '的持卡人' || c.person_id || '于' || strftime(c.death_date, '%Y-%m-%d') || '死亡，此后该卡仍刷卡' ||
           c.swipes || '次（首次' || strftime(c.first_at, '%Y-%m-%d') || '，' || coalesce(i.name, c.org_code) || '），医保基金及个人账户支付' ||
           c.insured || '元' AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', c.person_id,
                   'death_date', strftime(c.death_date, '%Y-%m-%d'),
                   'swipes_after_death', c.swipes,
                   'swipes', to_json(list_slice(c.facts, 1, 20)),
                   'fund_and_account_paid', c.insured::VARCHAR) AS facts,
       json_object('after_death', 0.9, 'extra_swipes', 0.03 * (c.swipes - 1)) AS score_parts
FROM per_card c LEFT JOIN institutions i ON i.org_code = c.org_code
