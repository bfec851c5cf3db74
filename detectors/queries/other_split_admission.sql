-- other.split_admission: a readmission at the same hospital within 15 days
-- of the previous discharge, with the same 3-character ICD-10 main diagnosis
-- and the same department (分解住院, GZ10000204001000; the draft implementing
-- rules' same diagnosis + same department match). Emergency readmissions,
-- declared planned readmissions (days_rinp_flag_31), chemotherapy and
-- dialysis cycles, day surgery and transfers out (dscg_way 2) are excused,
-- and so is the next part of one stay settled in parts (中途结算: the same
-- visit id mdtrt_id).
-- The subject is the readmission. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.dept_code, s.admitted_at, s.discharged_at, s.diagnosis_code,
           s.med_type, s.emergency, s.days_rinp_flag_31, s.dscg_way, s.mdtrt_id, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL AND coalesce(s.med_type, '') <> '28'
),
pairs AS (
    SELECT cur.*, prev.settlement_id AS prev_id, prev.admitted_at AS prev_admitted_at, prev.discharged_at AS prev_discharged_at,
           prev.diagnosis_code AS prev_dx, prev.dscg_way AS prev_dscg_way, prev.dept_code AS prev_dept, prev.mdtrt_id AS prev_mdtrt_id,
           date_diff('hour', prev.discharged_at, cur.admitted_at) / 24.0 AS gap_days
    FROM (SELECT *, lag(settlement_id) OVER w AS prev_sid FROM stays
          WINDOW w AS (PARTITION BY person_id, org_code ORDER BY admitted_at, settlement_id)) cur
    JOIN stays prev ON prev.settlement_id = cur.prev_sid
)
SELECT p.settlement_id AS subject_id,
       p.org_code,
       least(1.0, 0.5 + 0.03 * (coalesce(getvariable('max_gap_days'), 15) - p.gap_days)) AS score,
       p.at_risk AS amount_at_risk,
       '出院后' || round(p.gap_days, 1) || '天在同一机构同一科室（' || coalesce(p.dept_code, '') || '）再次入院，主诊断同为' ||
           left(p.diagnosis_code, 3) || '（上次' || p.prev_dx || '，本次' || p.diagnosis_code || '）' AS summary,
       json_object(
           'readmission', json_object('settlement_id', p.settlement_id, 'person_id', p.person_id,
                                      'admitted_at', strftime(p.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                      'discharged_at', strftime(p.discharged_at, '%Y-%m-%d %H:%M:%S'),
                                      'los_days', p.los, 'diagnosis_code', p.diagnosis_code, 'dept_code', p.dept_code,
                                      'emergency', coalesce(p.emergency, false), 'days_rinp_flag_31', coalesce(p.days_rinp_flag_31, false)),
           'previous_stay', json_object('settlement_id', p.prev_id,
                                        'admitted_at', strftime(p.prev_admitted_at, '%Y-%m-%d %H:%M:%S'),
                                        'discharged_at', strftime(p.prev_discharged_at, '%Y-%m-%d %H:%M:%S'),
                                        'diagnosis_code', p.prev_dx, 'dscg_way', p.prev_dscg_way),
           'org', json_object('org_code', p.org_code, 'name', i.name, 'level', i.level),
           'gap_days', round(p.gap_days, 2),
           'fund_and_account_paid', p.at_risk::VARCHAR
       ) AS facts,
       json_object('gap_days', round(p.gap_days, 2)) AS score_parts
FROM pairs p LEFT JOIN institutions i USING (org_code)
WHERE p.gap_days >= 0 AND p.gap_days <= coalesce(getvariable('max_gap_days'), 15)
  AND left(p.diagnosis_code, 3) = left(p.prev_dx, 3)
  AND coalesce(p.dept_code, '') = coalesce(p.prev_dept, '')
  AND NOT coalesce(p.emergency, false)
  AND NOT coalesce(p.days_rinp_flag_31, false)
  AND coalesce(p.prev_dscg_way, '') <> '2'
  AND (p.mdtrt_id IS NULL OR p.mdtrt_id IS DISTINCT FROM p.prev_mdtrt_id)
  AND NOT EXISTS (SELECT 1 FROM ref_diagnosis_list r WHERE r.list = 'scheduled_cycle' AND starts_with(coalesce(p.diagnosis_code, ''), r.prefix))
