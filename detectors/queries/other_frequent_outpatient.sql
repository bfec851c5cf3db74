-- other.frequent_outpatient: persons whose outpatient visits in some 30-day
-- window exceed the 99th percentile of all persons with outpatient visits
-- (频繁门诊), and at least min_visits. Chronic-disease sessions (门诊慢特病,
-- med_type 14, e.g. dialysis) are not counted. The subject is the person;
-- the amount at risk is the fund and account money of the visits above the
-- percentile in the worst window. Runs as is in the DuckDB CLI.
WITH visits AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.diagnosis_code, s.fund_paid + s.account_paid AS at_risk
    FROM settlements s
    WHERE s.visit_type = 'outpatient' AND coalesce(s.med_type, '') <> '14'
),
windows AS (
    SELECT v.*,
           count(*) OVER w AS n_window, sum(at_risk) OVER w AS window_money,
           -- the order of the worst window: the most visits, then the
           -- earliest, as one HUGEINT (|epoch_us| < 10^18)
           (count(*) OVER w)::HUGEINT * 1000000000000000000 - epoch_us(v.admitted_at) AS worst
    FROM visits v
    WINDOW w AS (PARTITION BY person_id ORDER BY admitted_at
                 RANGE BETWEEN CURRENT ROW AND to_days(CAST(coalesce(getvariable('window_days'), 30) AS INTEGER)) FOLLOWING)
),
per_person AS (
    -- the worst window's start and money from the same row (two arg_max
    -- on the count alone could each take another tied window, by thread
    -- timing); one numeric key, as a STRUCT key's states do not spill (one
    -- per person)
    SELECT person_id, max(n_window) AS max_visits, arg_max(admitted_at, worst) AS window_from,
           arg_max(window_money, worst) AS window_money, count(*) AS visits_total
    FROM windows GROUP BY person_id
),
peer AS (
    SELECT quantile_cont(max_visits, coalesce(getvariable('percentile'), 0.99)) AS p99, median(max_visits) AS med, count(*) AS persons
    FROM per_person
),
hits AS (
    SELECT p.*, peer.p99, peer.med, peer.persons
    FROM per_person p, peer
    WHERE p.max_visits > peer.p99 AND p.max_visits >= coalesce(getvariable('min_visits'), 4)
),
detail AS (
    SELECT h.person_id,
           list(json_object('settlement_id', v.settlement_id, 'at', strftime(v.admitted_at, '%Y-%m-%d %H:%M:%S'),
                            'org_code', v.org_code, 'org_name', i.name, 'diagnosis_code', v.diagnosis_code)
                ORDER BY v.admitted_at, v.settlement_id)[1:20] AS visits,
           count(DISTINCT v.org_code) AS orgs
    FROM hits h JOIN visits v ON v.person_id = h.person_id
         AND v.admitted_at >= h.window_from
         AND v.admitted_at <= h.window_from + to_days(CAST(coalesce(getvariable('window_days'), 30) AS INTEGER))
    LEFT JOIN institutions i ON i.org_code = v.org_code
    GROUP BY h.person_id
)
SELECT h.person_id AS subject_id,
       '' AS org_code,
       least(0.9, 0.5 + 0.1 * (h.max_visits - h.p99)) AS score,
       (h.window_money * greatest(h.max_visits - h.p99, 0) / h.max_visits)::DECIMAL(18,2) AS amount_at_risk,
       '参保人' || h.person_id || '自' || strftime(h.window_from, '%Y-%m-%d') || '起' || coalesce(getvariable('window_days'), 30) || '天内门诊' ||
           h.max_visits || '次（' || d.orgs || '家机构），高于全部门诊就诊人员的第99百分位数' || round(h.p99, 1) || '次' AS summary,
       json_object(
           'person_id', h.person_id, 'max_visits_in_window', h.max_visits, 'window_from', strftime(h.window_from, '%Y-%m-%d'),
           'visits_total', h.visits_total, 'visits', d.visits, 'orgs', d.orgs,
           'peer_baseline', json_object('p99', h.p99, 'median', h.med, 'persons', h.persons),
           'window_fund_and_account', h.window_money::VARCHAR
       ) AS facts,
       json_object('visits_over_p99', h.max_visits - h.p99) AS score_parts
FROM hits h JOIN detail d USING (person_id)
