-- settlement.no_registration: a cross-region settlement (insured and
-- treatment region in different cities; for the municipalities 北京, 天津,
-- 上海, 重庆 in different provinces) without a registration that covers it
-- (异地就医备案). An emergency (急诊抢救) counts as registered; a registration
-- filed during the stay, before the settlement at discharge, is valid
-- (settlement.CoversStay: the treatment area covers the institution's
-- region, valid_from ≤ settlement date, valid_to empty or ≥ admission date).
-- Runs as is in the DuckDB CLI.
-- (cand NOT MATERIALIZED: stored, almost every settlement spilled as the
-- batch grew; read twice instead, the rule took 1.12-1.20 s at 1 M persons
-- against 0.94-1.03 s, and 3.2-3.3 s at 2.5 M against 4.3-4.7 s, the same
-- rows)
WITH cand AS NOT MATERIALIZED (   -- cross-region settlements, narrow (almost every settlement of a cross-region batch); rid keys them
    SELECT s.rowid AS rid, s.settlement_id, s.person_id, i.region_code AS org_region, s.admitted_at, s.settled_at
    FROM settlements s JOIN institutions i USING (org_code)
    WHERE NOT coalesce(s.emergency, false)
      AND CASE WHEN substr(s.insured_region, 1, 2) IN ('11', '12', '31', '50')
               THEN substr(s.insured_region, 1, 2) <> substr(i.region_code, 1, 2)
               ELSE substr(s.insured_region, 1, 4) <> substr(i.region_code, 1, 4) END
),
covered AS (   -- those a registration of the person covers
    SELECT c.rid
    FROM cand c JOIN registrations r ON r.person_id = c.person_id
    WHERE (r.treatment_region = c.org_region
           OR (r.treatment_region LIKE '__0000' AND substr(r.treatment_region, 1, 2) = substr(c.org_region, 1, 2))
           OR (r.treatment_region LIKE '____00' AND substr(r.treatment_region, 1, 4) = substr(c.org_region, 1, 4)))
      AND r.valid_from <= c.settled_at::DATE
      AND coalesce(r.valid_to, DATE '9999-12-31') >= c.admitted_at::DATE
),
uncovered AS (
    SELECT c.settlement_id, c.org_region FROM cand c ANTI JOIN covered USING (rid)
),
vis AS (   -- the uncovered settlements with what the evidence shows
    SELECT s.settlement_id, s.person_id, s.org_code, s.visit_type, s.admitted_at, s.discharged_at, s.settled_at,
           s.insured_region, u.org_region, s.registration_id, s.total_amount, s.fund_paid, s.account_paid,
           s.diagnosis_code, i.name AS org_name, i.level AS org_level
    FROM uncovered u JOIN settlements s USING (settlement_id) JOIN institutions i USING (org_code)
),
regs AS (   -- the person's registrations, to show why none covers
    SELECT v.settlement_id,
           to_json(list(json_object('registration_id', r.registration_id, 'kind', r.kind, 'treatment_region', r.treatment_region,
                                    'valid_from', strftime(r.valid_from, '%Y-%m-%d'), 'valid_to', strftime(r.valid_to, '%Y-%m-%d'))
                        ORDER BY r.valid_from, r.registration_id)) AS regs
    FROM vis v JOIN registrations r ON r.person_id = v.person_id
    GROUP BY v.settlement_id
)
SELECT v.settlement_id AS subject_id,
       v.org_code,
       coalesce(getvariable('min_score'), 0.85) AS score,
       v.fund_paid + v.account_paid AS amount_at_risk,
       '参保地' || v.insured_region || '的参保人' || v.person_id || '在' || coalesce(v.org_name, v.org_code) || '（' || v.org_region ||
       '）非急诊' || CASE v.visit_type WHEN 'inpatient' THEN '住院' WHEN 'outpatient' THEN '门诊' ELSE '购药' END ||
       '直接结算，统筹基金支付' || v.fund_paid || '元，但无覆盖本次就医的异地就医备案' ||
       CASE WHEN r.regs IS NOT NULL THEN '（有备案但地区或有效期不符）' ELSE '' END AS summary,
       json_object(
           'visit', json_object('settlement_id', v.settlement_id, 'person_id', v.person_id, 'visit_type', v.visit_type,
                                'admitted_at', strftime(v.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'discharged_at', strftime(v.discharged_at, '%Y-%m-%d %H:%M:%S'),
                                'settled_at', strftime(v.settled_at, '%Y-%m-%d %H:%M:%S'),
                                'diagnosis_code', v.diagnosis_code, 'diagnosis_name', d.name,
                                'total_amount', v.total_amount::VARCHAR, 'fund_paid', v.fund_paid::VARCHAR,
                                'registration_id_on_settlement', v.registration_id, 'emergency', false),
           'insured_region', v.insured_region,
           'org', json_object('org_code', v.org_code, 'name', v.org_name, 'level', v.org_level, 'region', v.org_region),
           'registrations_of_person', coalesce(r.regs, '[]'::JSON)
       ) AS facts,
       NULL AS score_parts
FROM vis v
LEFT JOIN regs r USING (settlement_id)
LEFT JOIN ref_diagnosis d ON d.code = v.diagnosis_code
