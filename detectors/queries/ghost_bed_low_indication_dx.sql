-- ghost_bed.low_indication_dx: a stay of at least 5 days whose main diagnosis
-- is on the outpatient-manageable list (stable hypertension, uncomplicated
-- type 2 diabetes, gastritis, low back pain, hyperlipidaemia, common cold —
-- 涉嫌挂床住院-主诊断筛查; 门诊能治却收住院) and that was hardly treated: drugs,
-- treatment or surgery on at most 30 % of its days, at a hospital whose
-- stays are normally treated day by day (self-baseline: an HIS that posts
-- everything at discharge is skipped). Treated comorbidities would show as
-- treatment, which is why the intensity gate is there. Runs as is in the
-- DuckDB CLI.
WITH dx_list AS (
    SELECT prefix, name AS dx_name FROM ref_diagnosis_list WHERE list = 'low_indication'
),
stays AS (
    SELECT s.rowid AS srow, s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 >= CAST(coalesce(getvariable('min_los_days'), 5) AS INTEGER)
),
treated AS (   -- (by the stay's rowid: an integer key groups faster than its id)
    SELECT st.srow, count(DISTINCT f.charged_at::DATE) AS treated_days
    FROM fee_items f JOIN stays st USING (settlement_id)
    WHERE f.category IN ('drug', 'treatment', 'surgery') AND NOT coalesce(f.dscg_tkdrug_flag, false)
    GROUP BY st.srow
),
per_stay AS (
    SELECT st.*, coalesce(t.treated_days, 0) AS treated_days, coalesce(t.treated_days, 0) / st.los AS treated_share
    FROM stays st LEFT JOIN treated t USING (srow)
),
hosp AS (
    SELECT org_code, median(treated_share) AS med_share, count(*) AS stays FROM per_stay GROUP BY org_code
),
hits AS (
    SELECT p.*, d.prefix, d.dx_name, h.med_share, h.stays AS hosp_stays
    FROM per_stay p JOIN dx_list d ON starts_with(p.diagnosis_code, d.prefix)
    JOIN hosp h USING (org_code)
    WHERE p.treated_share <= coalesce(getvariable('max_treated_share'), 0.3)
      AND h.med_share >= coalesce(getvariable('min_hospital_treated_share'), 0.6)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(0.9, 0.5 + 0.5 * (h.med_share - h.treated_share) * least(h.los, 10) / 10) AS score,
       h.at_risk AS amount_at_risk,
       '主诊断' || h.diagnosis_code || ' ' || h.dx_name || '属门诊可治疗病种，住院' || h.los || '天，仅' || h.treated_days ||
           '天有用药或治疗（本院住院患者中位' || round(100 * h.med_share, 1) || '%的住院日有用药或治疗）' AS summary,
       json_object(
           'stay', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                               'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', h.los, 'diagnosis_code', h.diagnosis_code, 'diagnosis_name', h.dx_name,
                               'med_type', h.med_type),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level, 'specialty', i.specialty),
           'treated_days', h.treated_days, 'treated_share', round(h.treated_share, 4),
           'hospital_baseline', json_object('median_treated_share', round(h.med_share, 4), 'stays', h.hosp_stays),
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('treated_share_gap', round(h.med_share - h.treated_share, 4), 'los_days', h.los) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
