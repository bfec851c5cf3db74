-- ghost_bed.over_capacity: hospitals whose midnight census (stays admitted on
-- or before a day and discharged after it) exceeds the approved beds
-- (institutions.beds) × 1.05 on at least 7 days of a quarter. The stays
-- flagged are those opened for the over-capacity period: they hold a bed
-- through most (75 %) of the quarter's over-capacity nights, and most (50 %)
-- of their own nights fall in it — not the short stays passing through, nor
-- the long stays admitted weeks before. The amount at risk is pro rata of
-- their over-capacity nights. Hospitals without approved beds are
-- skipped. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s JOIN institutions i USING (org_code)
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL AND coalesce(i.beds, 0) > 0
      AND s.discharged_at::DATE > s.admitted_at::DATE
),
nights AS (
    SELECT settlement_id, org_code, admitted_at, date_diff('day', admitted_at::DATE, discharged_at::DATE) AS nights,
           unnest(generate_series(admitted_at::DATE, discharged_at::DATE - 1, INTERVAL 1 DAY))::DATE AS d
    FROM stays
),
census AS (
    SELECT n.org_code, n.d, count(*) AS patients, any_value(i.beds) AS beds
    FROM nights n JOIN institutions i USING (org_code)
    GROUP BY n.org_code, n.d
),
over_days AS (
    SELECT *, date_trunc('quarter', d) AS quarter FROM census
    WHERE patients > coalesce(getvariable('capacity_factor'), 1.05) * beds
),
quarters AS (
    SELECT org_code, quarter, count(*) AS over_days, max(patients) AS peak, any_value(beds) AS beds
    FROM over_days GROUP BY org_code, quarter
    HAVING count(*) >= coalesce(getvariable('min_days_per_quarter'), 7)
),
present AS (
    SELECT n.settlement_id, count(*) AS excess_days, any_value(n.nights) AS stay_nights, min(n.d) AS first_day, max(n.d) AS last_day,
           max(o.patients) AS peak_patients, any_value(o.beds) AS beds, max(q.over_days) AS quarter_over_days
    FROM nights n
    JOIN over_days o ON o.org_code = n.org_code AND o.d = n.d
    JOIN quarters q ON q.org_code = o.org_code AND q.quarter = o.quarter
    GROUP BY n.settlement_id
),
excess AS (
    SELECT * FROM present
    WHERE excess_days >= coalesce(getvariable('min_share_of_over_nights'), 0.75) * quarter_over_days
      AND excess_days >= coalesce(getvariable('min_share_of_stay_nights'), 0.5) * stay_nights
)
SELECT st.settlement_id AS subject_id,
       st.org_code,
       least(1.0, 0.5 + 0.5 * (e.peak_patients / e.beds - 1) + 0.02 * least(e.excess_days, 10)) AS score,
       (st.at_risk * least(e.excess_days, st.los) / st.los)::DECIMAL(18,2) AS amount_at_risk,
       coalesce(i.name, st.org_code) || '核定床位' || e.beds || '张，' || strftime(e.first_day, '%Y-%m-%d') || '至' ||
           strftime(e.last_day, '%Y-%m-%d') || '间在院人数最高' || e.peak_patients || '人；本次住院有' || e.excess_days ||
           '晚在超床期间占用床位（该季度超床' || e.quarter_over_days || '天）' AS summary,
       json_object(
           'stay', json_object('settlement_id', st.settlement_id, 'person_id', st.person_id,
                               'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', st.los, 'diagnosis_code', st.diagnosis_code, 'med_type', st.med_type),
           'org', json_object('org_code', st.org_code, 'name', i.name, 'level', i.level, 'approved_beds', e.beds),
           'peak_census', e.peak_patients, 'over_capacity_nights_in_stay', e.excess_days,
           'first_over_capacity_night', strftime(e.first_day, '%Y-%m-%d'), 'last_over_capacity_night', strftime(e.last_day, '%Y-%m-%d'),
           'quarter_over_capacity_days', e.quarter_over_days, 'stay_nights', e.stay_nights,
           'fund_and_account_paid', st.at_risk::VARCHAR
       ) AS facts,
       json_object('occupancy_ratio', round(e.peak_patients / e.beds, 3), 'over_capacity_nights', e.excess_days) AS score_parts
FROM excess e JOIN stays st USING (settlement_id) LEFT JOIN institutions i ON i.org_code = st.org_code
