-- card_misuse.frequent_purchase (频繁购药, GZ10000204003000): at least
-- year_purchases purchases in a year at one pharmacy at irregular, short
-- intervals (median gap below chronic_gap_days, so that chronic patients
-- buying monthly do not fire), or at least week_purchases purchases within 7
-- days. Subject: the card. Runs as is in the DuckDB CLI.
WITH p AS (
    SELECT s.card_no, s.person_id, s.org_code, s.settlement_id, s.admitted_at, year(s.admitted_at) AS y,
           s.fund_paid + s.account_paid AS insured, s.total_amount,
           date_diff('second', lag(s.admitted_at) OVER (PARTITION BY s.card_no, s.org_code ORDER BY s.admitted_at), s.admitted_at) / 86400.0 AS gap_days,
           count(*) OVER (PARTITION BY s.card_no ORDER BY s.admitted_at RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW) AS in_week
    FROM settlements s
    WHERE s.visit_type = 'pharmacy'
),
org_year AS (
    SELECT card_no, org_code, y, count(*) AS n, median(gap_days) AS median_gap, sum(insured) AS insured
    FROM p GROUP BY ALL
),
card AS (
    SELECT card_no,
           max(n) FILTER (WHERE n >= CAST(coalesce(getvariable('year_purchases'), 10) AS INTEGER)
                           AND median_gap < coalesce(getvariable('chronic_gap_days'), 20)) AS year_n,
           arg_max(org_code, (n, org_code)) AS top_org, max(n) AS top_n, arg_max(median_gap, (n, median_gap)) AS top_gap
    FROM org_year GROUP BY card_no
),
week AS (
    SELECT card_no, max(in_week) AS week_n FROM p GROUP BY card_no
),
hit AS (
    SELECT c.*, w.week_n,
           CASE WHEN c.year_n IS NOT NULL THEN 0.5 + 0.05 * (c.year_n - CAST(coalesce(getvariable('year_purchases'), 10) AS INTEGER)) ELSE 0 END AS year_score,
           CASE WHEN w.week_n >= CAST(coalesce(getvariable('week_purchases'), 4) AS INTEGER)
                THEN 0.5 + 0.1 * (w.week_n - CAST(coalesce(getvariable('week_purchases'), 4) AS INTEGER)) ELSE 0 END AS week_score
    FROM card c JOIN week w USING (card_no)
    WHERE c.year_n IS NOT NULL OR w.week_n >= CAST(coalesce(getvariable('week_purchases'), 4) AS INTEGER)
),
lst AS (
    SELECT p.card_no, min(p.person_id) AS person_id, count(*) AS purchases, sum(p.insured) AS insured,
           list(json_object('settlement_id', p.settlement_id, 'at', strftime(p.admitted_at, '%Y-%m-%d %H:%M:%S'),
                            'org_code', p.org_code, 'total_amount', p.total_amount::VARCHAR,
                            'fund_and_account', p.insured::VARCHAR, 'days_since_previous_here', round(p.gap_days, 1))
                ORDER BY p.admitted_at, p.settlement_id) AS facts
    FROM p JOIN hit USING (card_no) GROUP BY p.card_no
)
SELECT h.card_no AS subject_id,
       h.top_org AS org_code,
       least(0.99, 1 - (1 - least(h.year_score, 0.95)) * (1 - least(h.week_score, 0.95))) AS score,
       l.insured AS amount_at_risk,
       '卡' || h.card_no || '在' || coalesce(i.name, h.top_org) || '购药' || h.top_n || '次（同店购药间隔中位数' ||
           coalesce(round(h.top_gap, 1)::VARCHAR, '—') || '天），7天内最多' || h.week_n || '次，医保基金及个人账户支付' || l.insured || '元' AS summary,
       json_object('card_no', h.card_no, 'holder_person_id', l.person_id,
                   'org', json_object('org_code', h.top_org, 'name', i.name, 'kind', i.kind),
                   'purchases_at_org', h.top_n, 'median_gap_days_at_org', round(h.top_gap, 1),
                   'max_purchases_in_7_days', h.week_n, 'purchases_total', l.purchases,
                   'purchases', to_json(list_slice(l.facts, 1, 40))) AS facts,
       json_object('year', h.year_score, 'week', h.week_score) AS score_parts
FROM hit h JOIN lst l USING (card_no) LEFT JOIN institutions i ON i.org_code = h.top_org
