-- ghost_bed.frequent_short_stays: the same person admitted at least 3 times
-- within 90 days at the same hospital (频繁住院, GZ10000204004000); every stay
-- inside such a window is flagged. Chemotherapy/radiotherapy cycles (Z51),
-- dialysis and end-stage renal disease (N18.5, N18.6, Z49), planned
-- readmissions (days_rinp_flag_31) and day surgery do not count, and the
-- stays of the window must be short on average (DOMAIN §7.1: repeated short
-- stays; long stays that follow each other are a clinical course). Runs as
-- is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.dept_code, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM inpatient_stays s -- a stay settled in parts counts once
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND coalesce(s.med_type, '') <> '28'
      AND NOT coalesce(s.days_rinp_flag_31, false)
      AND NOT EXISTS (SELECT 1 FROM ref_diagnosis_list r WHERE r.list = 'scheduled_cycle' AND starts_with(coalesce(s.diagnosis_code, ''), r.prefix))
),
counted AS (
    SELECT st.*,
           count(*) OVER (PARTITION BY person_id, org_code ORDER BY admitted_at
                          RANGE BETWEEN CURRENT ROW AND to_days(CAST(coalesce(getvariable('window_days'), 90) AS INTEGER)) FOLLOWING) AS n_fwd
    FROM stays st
),
anchors AS (
    SELECT person_id, org_code, admitted_at AS win_from,
           admitted_at + to_days(CAST(coalesce(getvariable('window_days'), 90) AS INTEGER)) AS win_to, n_fwd
    FROM counted WHERE n_fwd >= coalesce(getvariable('min_admissions'), 3)
),
members AS (
    SELECT st.settlement_id, max(a.n_fwd) AS n_in_window, min(a.win_from) AS win_from
    FROM stays st JOIN anchors a ON a.person_id = st.person_id AND a.org_code = st.org_code
         AND st.admitted_at >= a.win_from AND st.admitted_at <= a.win_to
    GROUP BY st.settlement_id
),
series AS (
    SELECT st.person_id, st.org_code,
           list(json_object('settlement_id', st.settlement_id, 'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                            'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'), 'los_days', st.los,
                            'diagnosis_code', st.diagnosis_code, 'dept_code', st.dept_code)
                ORDER BY st.admitted_at)[1:12] AS stays_list,
           count(*) AS n_stays, avg(st.los) AS mean_los
    FROM stays st JOIN members m USING (settlement_id)
    GROUP BY st.person_id, st.org_code
)
SELECT st.settlement_id AS subject_id,
       st.org_code,
       least(1.0, 0.55 + 0.1 * (m.n_in_window - coalesce(getvariable('min_admissions'), 3)) + CASE WHEN se.mean_los <= 4 THEN 0.1 ELSE 0 END) AS score,
       st.at_risk AS amount_at_risk,
       '参保人' || st.person_id || '在' || coalesce(i.name, st.org_code) || '于' || coalesce(getvariable('window_days'), 90) || '天内住院' ||
           m.n_in_window || '次（本次住院' || st.los || '天，平均' || round(se.mean_los, 1) || '天）' AS summary,
       json_object(
           'stay', json_object('settlement_id', st.settlement_id, 'person_id', st.person_id,
                               'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', st.los, 'diagnosis_code', st.diagnosis_code, 'med_type', st.med_type),
           'org', json_object('org_code', st.org_code, 'name', i.name, 'level', i.level),
           'admissions_in_window', m.n_in_window, 'window_from', strftime(m.win_from, '%Y-%m-%d'),
           'stays', se.stays_list, 'mean_los_days', round(se.mean_los, 2),
           'fund_and_account_paid', st.at_risk::VARCHAR
       ) AS facts,
       json_object('admissions_in_window', m.n_in_window, 'mean_los_days', round(se.mean_los, 2)) AS score_parts
FROM members m JOIN stays st USING (settlement_id)
JOIN series se ON se.person_id = st.person_id AND se.org_code = st.org_code
LEFT JOIN institutions i ON i.org_code = st.org_code
WHERE se.mean_los <= coalesce(getvariable('max_mean_los_days'), 7)
