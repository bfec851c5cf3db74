-- ghost_bed.no_daily_activity: stays whose full days (between the admission
-- and the discharge day) mostly carry no clinical line — no drug, exam, lab,
-- treatment or surgery — with a run of consecutive idle days, when the same
-- hospital's other stays are normally active (per-hospital self-baseline, so
-- a psychiatric hospital's low intensity or an HIS that posts every charge at
-- discharge is normal for itself). 出院带药 lines do not count as activity.
-- The stays' days are keyed by the stay's rowid, not its id: an integer key
-- groups, joins and partitions faster (1 M persons: the rule's CPU 7.4–8.0 →
-- 6.0 s). Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.rowid AS srow, s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 >= CAST(coalesce(getvariable('min_los_days'), 4) AS INTEGER)
      AND coalesce(s.med_type, '') <> '28'
),
active AS (
    SELECT DISTINCT st.srow, f.charged_at::DATE AS d
    FROM fee_items f JOIN stays st USING (settlement_id)
    WHERE f.category IN ('drug', 'exam', 'lab', 'treatment', 'surgery')
      AND NOT coalesce(f.dscg_tkdrug_flag, false)
),
stay_days AS (
    SELECT st.srow, st.org_code,
           unnest(generate_series(st.admitted_at::DATE + 1, st.discharged_at::DATE - 1, INTERVAL 1 DAY))::DATE AS d
    FROM stays st
),
days AS (
    SELECT sd.srow, sd.org_code, sd.d, a.d IS NULL AS idle
    FROM stay_days sd LEFT JOIN active a ON a.srow = sd.srow AND a.d = sd.d
),
runs AS (
    SELECT srow, org_code, d, idle,
           row_number() OVER (PARTITION BY srow ORDER BY d) -
           row_number() OVER (PARTITION BY srow, idle ORDER BY d) AS grp
    FROM days
),
per_stay AS (
    SELECT srow, any_value(org_code) AS org_code, count(*) AS full_days,
           count(*) FILTER (WHERE idle) AS idle_days
    FROM days GROUP BY srow
),
longest AS (
    SELECT srow, max(n) AS max_run
    FROM (SELECT srow, grp, count(*) AS n FROM runs WHERE idle GROUP BY srow, grp)
    GROUP BY srow
),
hosp AS (
    SELECT org_code, median(idle_days / full_days) AS med_share, count(*) AS stays
    FROM per_stay GROUP BY org_code
),
hits AS (
    SELECT st.*, p.full_days, p.idle_days, p.idle_days / p.full_days AS share, l.max_run, h.med_share, h.stays AS hosp_stays
    FROM per_stay p JOIN stays st USING (srow) JOIN longest l USING (srow) JOIN hosp h ON h.org_code = p.org_code
    WHERE p.idle_days / p.full_days >= coalesce(getvariable('min_idle_share'), 0.5)
      AND l.max_run >= coalesce(getvariable('min_idle_run_days'), 3)
      AND p.idle_days / p.full_days - h.med_share >= coalesce(getvariable('min_margin_over_hospital'), 0.3)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(1.0, 0.5 + 0.6 * (h.share - h.med_share) * (0.5 + 0.1 * least(h.max_run, 10))) AS score,
       (h.at_risk * h.idle_days / h.los)::DECIMAL(18,2) AS amount_at_risk,
       '住院' || h.los || '天，' || h.full_days || '个完整住院日中' || h.idle_days || '天只有床位/护理/伙食费，无药品、检查、化验、治疗或手术（最长连续' ||
           h.max_run || '天）；本院住院患者的中位空转率为' || round(100 * h.med_share, 1) || '%' AS summary,
       json_object(
           'stay', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                               'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', h.los, 'diagnosis_code', h.diagnosis_code, 'med_type', h.med_type),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level, 'specialty', i.specialty),
           'full_days', h.full_days, 'idle_days', h.idle_days, 'idle_share', round(h.share, 4),
           'longest_idle_run_days', h.max_run,
           'hospital_baseline', json_object('median_idle_share', round(h.med_share, 4), 'stays', h.hosp_stays),
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('idle_share_over_hospital', round(h.share - h.med_share, 4), 'idle_run_days', h.max_run) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
