-- ghost_bed.no_early_treatment: no drug, exam, lab or treatment line in the
-- first 48 hours of a stay (桂林-style agreement: 48 小时内无实质性检查治疗),
-- at a hospital whose other stays normally start treatment at once
-- (per-hospital self-baseline: an HIS that posts every charge at discharge
-- shows no early lines for any stay). Tests done up to 24 h before admission
-- count as the work-up; a Friday-to-Sunday admission waiting for a planned
-- operation is excused. Day surgery and stays shorter than the window are
-- skipped. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM inpatient_stays s -- a stay settled in parts is one stay, with the lines of all its parts
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND coalesce(s.med_type, '') <> '28'
      AND s.discharged_at > s.admitted_at + to_hours(CAST(coalesce(getvariable('window_hours'), 48) + 24 AS INTEGER))
),
clinical AS (   -- (the clinical lines only, filtered as they are read: a stay without any has
                --  none of the three; 1 M persons: the rule's CPU 4.7–5.9 → 3.5–3.7 s)
    SELECT st.settlement_id,
           min(f.charged_at) FILTER (WHERE f.charged_at >= st.admitted_at) AS first_clinical,
           count(*) FILTER (WHERE f.charged_at >= st.admitted_at - to_hours(CAST(coalesce(getvariable('pre_admission_hours'), 24) AS INTEGER))
                            AND f.charged_at < st.admitted_at + to_hours(CAST(coalesce(getvariable('window_hours'), 48) AS INTEGER))
                            AND NOT coalesce(f.dscg_tkdrug_flag, false)) AS early_lines,
           count(*) FILTER (WHERE f.category = 'surgery') AS surgery_lines
    FROM fee_items f JOIN inpatient_stay_parts p USING (settlement_id) JOIN stays st ON st.settlement_id = p.stay_id
    WHERE f.category IN ('drug', 'exam', 'lab', 'treatment', 'surgery')
    GROUP BY st.settlement_id
),
per_stay AS (
    SELECT st.*, c.first_clinical, coalesce(c.early_lines, 0) AS early_lines, coalesce(c.surgery_lines, 0) AS surgery_lines,
           coalesce(c.early_lines, 0) = 0 AS late
    FROM stays st LEFT JOIN clinical c USING (settlement_id)
),
hosp AS (
    SELECT org_code, avg(CASE WHEN late THEN 1 ELSE 0 END) AS late_share, count(*) AS stays FROM per_stay GROUP BY org_code
),
hits AS (
    SELECT p.*, h.late_share, h.stays AS hosp_stays,
           CASE WHEN p.first_clinical IS NULL THEN p.los
                ELSE least(p.los, date_diff('hour', p.admitted_at, p.first_clinical) // 24) END AS untreated_days
    FROM per_stay p JOIN hosp h USING (org_code)
    WHERE p.late
      AND h.late_share <= coalesce(getvariable('max_hospital_late_share'), 0.2)
      AND NOT (p.surgery_lines > 0 AND dayofweek(p.admitted_at) IN (0, 5, 6))
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(1.0, 0.55 + 0.05 * least(h.untreated_days, 6) + 0.5 * (coalesce(getvariable('max_hospital_late_share'), 0.2) - h.late_share)) AS score,
       (h.at_risk * least(h.untreated_days, h.los) / h.los)::DECIMAL(18,2) AS amount_at_risk,
       '入院后' || coalesce(getvariable('window_hours'), 48) || '小时内无任何药品、检查、化验或治疗，首次诊疗在入院后' ||
           coalesce(date_diff('hour', h.admitted_at, h.first_clinical)::VARCHAR, '（全程无）') || '小时；本院住院患者中此类情形占' ||
           round(100 * h.late_share, 1) || '%' AS summary,
       json_object(
           'stay', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                               'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', h.los, 'diagnosis_code', h.diagnosis_code, 'med_type', h.med_type,
                               'admission_weekday', dayofweek(h.admitted_at)),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level, 'specialty', i.specialty),
           'first_clinical_at', strftime(h.first_clinical, '%Y-%m-%d %H:%M:%S'),
           'hours_to_first_clinical', date_diff('hour', h.admitted_at, h.first_clinical),
           'untreated_days', h.untreated_days,
           'hospital_baseline', json_object('share_of_stays_without_early_treatment', round(h.late_share, 4), 'stays', h.hosp_stays),
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('untreated_days', h.untreated_days, 'hospital_late_share', round(h.late_share, 4)) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
