-- impersonation.after_death: care or charges dated after the insured
-- person's recorded death (死亡后就医). A stay that ends in death (dscg_way 5)
-- on the death date is not flagged. Runs as is in the DuckDB CLI.
WITH dead AS (
    SELECT person_id, death_date FROM persons WHERE death_date IS NOT NULL
),
visits AS (
    SELECT s.settlement_id, s.org_code, s.person_id, d.death_date, s.visit_type, s.admitted_at, s.discharged_at,
           s.diagnosis_code, s.fund_paid, s.account_paid, s.total_amount
    FROM settlements s JOIN dead d USING (person_id)
),
-- the dead persons' fee lines dated after the death, in one pass over the
-- fee lines (a count, a sum and a test past the grace, each reading them
-- itself, took the rule 0.38-0.41 s on one thread at 100 k persons, this
-- 0.09-0.14 s, with the same flags)
after AS (
    SELECT f.settlement_id, count(*) AS lines_after, sum(f.amount) AS amount_after, max(f.charged_at::DATE) AS last_day
    FROM fee_items f JOIN visits v USING (settlement_id)
    WHERE f.charged_at::DATE > v.death_date
    GROUP BY f.settlement_id
),
hits AS (
    SELECT v.*, coalesce(a.lines_after, 0) AS lines_after, coalesce(a.amount_after, 0) AS amount_after
    FROM visits v LEFT JOIN after a USING (settlement_id)
    -- (the grace is not negative: a line past it is a line after the death)
    WHERE v.admitted_at::DATE > v.death_date
       OR a.last_day > v.death_date + CAST(coalesce(getvariable('after_death_grace_days'), 0) AS INTEGER)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       CASE WHEN h.admitted_at::DATE > h.death_date THEN 0.95 ELSE 0.8 END AS score,
       h.fund_paid + h.account_paid AS amount_at_risk,
       CASE WHEN h.admitted_at::DATE > h.death_date
            THEN '参保人' || h.person_id || '于' || strftime(h.death_date, '%Y-%m-%d') || '死亡，' ||
                 (h.admitted_at::DATE - h.death_date) || '天后仍在' || coalesce(i.name, h.org_code) || '就诊结算'
            ELSE '参保人' || h.person_id || '于' || strftime(h.death_date, '%Y-%m-%d') || '死亡，死亡后仍有' || h.lines_after ||
                 '条费用明细（' || h.amount_after || '元）'
       END AS summary,
       json_object(
           'person_id', h.person_id,
           'death_date', strftime(h.death_date, '%Y-%m-%d'),
           'visit', json_object('settlement_id', h.settlement_id, 'visit_type', h.visit_type,
                                'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                                'diagnosis_code', h.diagnosis_code,
                                'total_amount', h.total_amount::VARCHAR),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level),
           'days_after_death', h.admitted_at::DATE - h.death_date,
           'fee_lines_after_death', h.lines_after,
           'fee_amount_after_death', h.amount_after::VARCHAR
       ) AS facts,
       NULL AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
WHERE NOT (h.admitted_at::DATE <= h.death_date AND h.lines_after = 0);
