-- ghost_bed.group_admission (features): inpatient stays that belong to a
-- candidate group — at least min_group_size persons admitted at the same
-- hospital within window_hours and discharged the same day — with the
-- hospital's own admission baseline, from which the Go side computes a
-- Poisson tail probability (组团入院、同步出院). The baseline counts are over
-- all the hospital's stays (the Go side leaves each group's own members
-- out); the admission rate is that of the same weekday (Mondays are
-- busier). Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.emergency,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
windowed AS (
    SELECT st.*,
           count(*) OVER (PARTITION BY org_code, discharged_at::DATE ORDER BY admitted_at
                          RANGE BETWEEN CURRENT ROW AND to_minutes(CAST(60 * coalesce(getvariable('window_hours'), 2) AS INTEGER)) FOLLOWING) AS n_fwd
    FROM stays st
),
-- the stays admitted at, or up to window_hours after, the admission of a
-- stay that starts a group (an anchor: at least min_group_size admissions
-- at the institution within window_hours from it, discharged the same
-- day): the latest anchor at or before the stay's admission, within the
-- window, by a second window over the same partition. (Joining every stay
-- to every anchor of its institution and day made 51.9 M pairs at 2.5 M
-- persons: the query took 6.1 s there, 1.6 s at 1 M, 0.12 s at 100 k; now
-- 2.3 s, 0.95 s and 0.09 s, the same rows.)
candidates AS (
    SELECT settlement_id FROM (
        SELECT settlement_id,
               max(CASE WHEN n_fwd >= coalesce(getvariable('min_group_size'), 5) THEN admitted_at END)
                   OVER (PARTITION BY org_code, discharged_at::DATE ORDER BY admitted_at
                         RANGE BETWEEN to_minutes(CAST(60 * coalesce(getvariable('window_hours'), 2) AS INTEGER)) PRECEDING
                               AND CURRENT ROW) AS last_anchor
        FROM windowed)
    WHERE last_anchor IS NOT NULL
),
org_days AS (
    SELECT org_code, count(*) AS admissions, count(DISTINCT admitted_at::DATE) AS admission_days,
           count(DISTINCT los) AS los_values
    FROM stays GROUP BY org_code
),
org_dow AS (
    SELECT org_code, dayofweek(admitted_at) AS dow, count(*) AS admissions, count(DISTINCT admitted_at::DATE) AS days
    FROM stays GROUP BY org_code, dayofweek(admitted_at)
),
org_los AS (
    SELECT org_code, los, count(*) AS n FROM stays GROUP BY org_code, los
),
org_hours AS (
    SELECT org_code, hour(admitted_at) AS h, count(*) AS n FROM stays GROUP BY org_code, hour(admitted_at)
),
org_band AS (   -- the busiest two hours; of those tied, the earliest
    SELECT a.org_code, max(a.n + coalesce(b.n, 0)) AS band_n, arg_min(a.h, (-(a.n + coalesce(b.n, 0)), a.h)) AS band_hour
    FROM org_hours a LEFT JOIN org_hours b ON b.org_code = a.org_code AND b.h = a.h + 1
    GROUP BY a.org_code
)
SELECT st.settlement_id, st.person_id, st.org_code, i.name AS org_name, i.level AS org_level, i.beds AS org_beds,
       strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S') AS admitted_at, strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S') AS discharged_at,
       st.los, coalesce(st.diagnosis_code, '') AS diagnosis_code, coalesce(st.emergency, false) AS emergency,
       st.at_risk::VARCHAR AS at_risk,
       od.admissions, od.admission_days, od.los_values, dw.admissions AS weekday_admissions, dw.days AS weekday_days,
       coalesce(ol.n, 0) AS same_los_admissions,
       coalesce(ob.band_n, 0) AS busiest_2h_admissions, coalesce(ob.band_hour, 0) AS busiest_2h_from_hour
FROM candidates c JOIN stays st USING (settlement_id)
JOIN org_days od ON od.org_code = st.org_code
JOIN org_dow dw ON dw.org_code = st.org_code AND dw.dow = dayofweek(st.admitted_at)
LEFT JOIN org_los ol ON ol.org_code = st.org_code AND ol.los = st.los
LEFT JOIN org_band ob ON ob.org_code = st.org_code
LEFT JOIN institutions i ON i.org_code = st.org_code
ORDER BY st.org_code, st.discharged_at::DATE, st.admitted_at, st.settlement_id
