-- card_misuse.many_pharmacies: one card at many pharmacies — at least
-- day_pharmacies distinct pharmacies on one day, or at least year_pharmacies
-- in a year with more than year_fund_yuan paid by the fund and the personal
-- account away from the card's own most-used pharmacy of that year (a
-- chronic patient's regular pharmacy is not spreading). Subject: the card.
-- Runs as is in the DuckDB CLI.
WITH p AS (
    SELECT s.card_no, s.person_id, s.org_code, s.settlement_id, s.admitted_at, s.admitted_at::DATE AS d,
           year(s.admitted_at) AS y, s.fund_paid + s.account_paid AS insured, s.total_amount
    FROM settlements s JOIN institutions i ON i.org_code = s.org_code
    WHERE s.visit_type = 'pharmacy' AND i.kind = 'pharmacy'
),
days AS (
    SELECT card_no, d, count(DISTINCT org_code) AS n FROM p GROUP BY ALL
),
per_org_year AS (
    SELECT card_no, y, org_code, count(*) AS purchases, sum(insured) AS insured FROM p GROUP BY ALL
),
years AS (
    SELECT card_no, y, count(*) AS n,
           sum(insured) - arg_max(insured, purchases * 1e12 + insured) AS insured
    FROM per_org_year GROUP BY ALL
),
card AS (
    SELECT coalesce(a.card_no, b.card_no) AS card_no,
           coalesce(a.max_day, 0) AS max_day, a.busy_day,
           coalesce(b.max_year, 0) AS max_year, coalesce(b.year_insured, 0) AS year_insured
    FROM (SELECT card_no, max(n) AS max_day, arg_max(d, (n, d)) AS busy_day FROM days GROUP BY 1) a
    FULL JOIN (SELECT card_no, max(n) AS max_year, max(insured) AS year_insured FROM years
               WHERE n >= CAST(coalesce(getvariable('year_pharmacies'), 5) AS INTEGER)
                 AND insured > coalesce(getvariable('year_fund_yuan'), 5000) GROUP BY 1) b USING (card_no)
    WHERE coalesce(a.max_day, 0) >= CAST(coalesce(getvariable('day_pharmacies'), 3) AS INTEGER) OR b.card_no IS NOT NULL
),
lst AS (
    SELECT p.card_no, min(p.person_id) AS person_id, arg_max(p.org_code, (p.insured, p.org_code)) AS org_code,
           count(DISTINCT p.org_code) AS pharmacies, count(*) AS purchases, sum(p.insured) AS insured,
           list(json_object('settlement_id', p.settlement_id, 'at', strftime(p.admitted_at, '%Y-%m-%d %H:%M:%S'),
                            'org', json_object('org_code', p.org_code, 'name', i.name),
                            'total_amount', p.total_amount::VARCHAR, 'fund_and_account', p.insured::VARCHAR)
                ORDER BY p.admitted_at, p.settlement_id) AS facts
    FROM p JOIN card c USING (card_no) LEFT JOIN institutions i ON i.org_code = p.org_code
    GROUP BY p.card_no
)
SELECT l.card_no AS subject_id,
       l.org_code,
       NoisyOr AS score,
       l.insured AS amount_at_risk,
       '卡' || l.card_no || '一年内在' || l.pharmacies || '家药店购药' || l.purchases || '次，单日最多' || c.max_day ||
           '家药店' || coalesce('（' || strftime(c.busy_day, '%Y-%m-%d') || '）', '') || '，医保基金及个人账户支付' || l.insured || '元' AS summary,
       json_object('card_no', l.card_no, 'holder_person_id', l.person_id, 'pharmacies', l.pharmacies,
                   'max_pharmacies_one_day', c.max_day, 'busiest_day', strftime(c.busy_day, '%Y-%m-%d'),
                   'max_pharmacies_one_year_over_amount', c.max_year, 'year_fund_and_account', c.year_insured::VARCHAR,
                   'purchases', to_json(list_slice(l.facts, 1, 30))) AS facts,
       json_object('day', day_score, 'year', year_score) AS score_parts
FROM (SELECT *, CASE WHEN max_day >= CAST(coalesce(getvariable('day_pharmacies'), 3) AS INTEGER)
                     THEN 0.6 + 0.1 * (max_day - CAST(coalesce(getvariable('day_pharmacies'), 3) AS INTEGER)) ELSE 0 END AS day_score,
                CASE WHEN max_year > 0 THEN 0.5 + 0.05 * (max_year - CAST(coalesce(getvariable('year_pharmacies'), 5) AS INTEGER)) ELSE 0 END AS year_score
      FROM card) c
JOIN lst l USING (card_no),
LATERAL (SELECT least(0.99, 1 - (1 - least(c.day_score, 0.95)) * (1 - least(c.year_score, 0.95))) AS NoisyOr)
