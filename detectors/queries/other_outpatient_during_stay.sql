-- other.outpatient_during_stay: an outpatient settlement at the SAME
-- institution while the person is its inpatient (住院期间门诊就诊: double
-- billing of care the stay already covers). Visits within grace_hours of
-- admission (the visit that led to it) or of discharge are ignored. The
-- subject is the outpatient settlement. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
hits AS (
    SELECT o.settlement_id, o.person_id, o.org_code, o.admitted_at, o.diagnosis_code, o.dept_code, o.emergency, o.med_type,
           o.total_amount, o.fund_paid + o.account_paid AS at_risk,
           st.settlement_id AS stay_id, st.admitted_at AS stay_admitted_at, st.discharged_at AS stay_discharged_at,
           st.diagnosis_code AS stay_dx
    FROM settlements o
    JOIN stays st ON st.person_id = o.person_id AND st.org_code = o.org_code
         AND o.admitted_at > st.admitted_at + to_hours(CAST(coalesce(getvariable('grace_hours'), 2) AS INTEGER))
         AND o.admitted_at < st.discharged_at - to_hours(CAST(coalesce(getvariable('grace_hours'), 2) AS INTEGER))
    WHERE o.visit_type = 'outpatient'
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       CASE WHEN coalesce(h.emergency, false) THEN 0.5 ELSE 0.7 END AS score,
       h.at_risk AS amount_at_risk,
       '参保人' || h.person_id || '于' || strftime(h.admitted_at, '%Y-%m-%d %H:%M') || '在' || coalesce(i.name, h.org_code) ||
           '门诊结算' || h.total_amount || '元，当时正在该院住院（' || strftime(h.stay_admitted_at, '%Y-%m-%d') || '至' ||
           strftime(h.stay_discharged_at, '%Y-%m-%d') || '）' AS summary,
       json_object(
           'outpatient', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                                     'visited_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'), 'dept_code', h.dept_code,
                                     'diagnosis_code', h.diagnosis_code, 'emergency', coalesce(h.emergency, false),
                                     'med_type', h.med_type, 'total_amount', h.total_amount::VARCHAR),
           'stay', json_object('settlement_id', h.stay_id, 'admitted_at', strftime(h.stay_admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.stay_discharged_at, '%Y-%m-%d %H:%M:%S'), 'diagnosis_code', h.stay_dx),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level),
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('emergency', CASE WHEN coalesce(h.emergency, false) THEN 1 ELSE 0 END) AS score_parts
FROM (SELECT * FROM hits QUALIFY row_number() OVER (PARTITION BY settlement_id ORDER BY stay_id) = 1) h
LEFT JOIN institutions i USING (org_code)
