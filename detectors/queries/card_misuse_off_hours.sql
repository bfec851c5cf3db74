-- card_misuse.off_hours: purchases between 22:00 and 07:00 at pharmacies and
-- clinics that are not open at night. Opening hours are learned from each
-- org's own swipes: an org with at least night_share_open of its swipes at
-- night is treated as open 24 h. Hospitals (emergency departments) are not
-- judged. Subject: the card. Runs as is in the DuckDB CLI.
-- (sw NOT MATERIALIZED: its two readers each read the swipes' table, 0.64–0.65 s
-- of CPU at 1 M persons against 0.89–0.93 s materialised)
WITH sw AS NOT MATERIALIZED (
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, w.swiped_at, w.kind, w.amount, w.settlement_id,
           hour(w.swiped_at) >= CAST(coalesce(getvariable('night_from_hour'), 22) AS INTEGER)
             OR hour(w.swiped_at) < CAST(coalesce(getvariable('night_to_hour'), 7) AS INTEGER) AS night
    FROM card_swipes w JOIN institutions i ON i.org_code = w.org_code
    WHERE i.kind IN ('pharmacy', 'clinic') AND w.kind IN ('purchase', 'settlement') AND w.amount > 0
),
org AS (
    SELECT org_code, count(*) AS swipes, count(*) FILTER (WHERE night) AS night_swipes,
           count(*) FILTER (WHERE night) / count(*) AS night_share,
           min(hour(swiped_at)) FILTER (WHERE NOT night) AS first_hour,
           max(hour(swiped_at)) FILTER (WHERE NOT night) AS last_hour
    FROM sw GROUP BY org_code
),
hits AS (
    SELECT sw.*, o.swipes AS org_swipes, o.night_swipes AS org_night, o.night_share, o.first_hour, o.last_hour,
           coalesce(s.fund_paid + s.account_paid, sw.amount) AS insured
    FROM sw JOIN org o USING (org_code)
    LEFT JOIN settlements s ON s.settlement_id = sw.settlement_id
    WHERE sw.night AND o.night_share < coalesce(getvariable('night_share_open'), 0.05)
),
per_card AS (
    SELECT h.card_no, arg_min(h.org_code, (h.swiped_at, h.org_code)) AS org_code, count(*) AS n, sum(h.insured) AS insured,
           min(h.person_id) AS person_id, count(DISTINCT h.org_code) AS orgs,
           list(json_object('swipe_id', h.swipe_id, 'at', strftime(h.swiped_at, '%Y-%m-%d %H:%M:%S'), 'kind', h.kind,
                            'amount', h.amount::VARCHAR, 'settlement_id', h.settlement_id,
                            'org', json_object('org_code', h.org_code, 'name', i.name, 'kind', i.kind),
                            'org_baseline', json_object('swipes', h.org_swipes, 'night_swipes', h.org_night,
                                                        'night_share', round(h.night_share, 4),
                                                        'usual_hours', lpad(h.first_hour::VARCHAR, 2, '0') || ':00–' || lpad((h.last_hour + 1)::VARCHAR, 2, '0') || ':00'))
                ORDER BY h.swiped_at, h.swipe_id) AS facts
    FROM hits h LEFT JOIN institutions i ON i.org_code = h.org_code
    GROUP BY h.card_no
)
SELECT c.card_no AS subject_id,
       c.org_code,
       1 - power(0.5, c.n) AS score,
       c.insured AS amount_at_risk,
       '卡' || c.card_no || '在非24小时营业的' || coalesce(i.name, c.org_code) || (CASE WHEN c.orgs > 1 THEN '等' || c.orgs || '家机构' ELSE '' END) ||
           '于夜间（22:00–07:00）刷卡购药' || c.n || '次，医保基金及个人账户支付' || c.insured || '元' AS summary,
       json_object('card_no', c.card_no, 'holder_person_id', c.person_id, 'night_swipes', c.n,
                   'swipes', to_json(list_slice(c.facts, 1, 20)), 'fund_and_account_paid', c.insured::VARCHAR) AS facts,
       json_object('night_swipes', 1 - power(0.5, c.n)) AS score_parts
FROM per_card c LEFT JOIN institutions i ON i.org_code = c.org_code
