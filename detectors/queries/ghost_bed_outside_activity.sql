-- ghost_bed.outside_activity: during an inpatient stay the same person has an
-- outpatient or pharmacy settlement, or a card transaction without a
-- settlement, at a DIFFERENT institution (住院期间门诊就诊 / 挂床: at work or
-- at home). Only activity more than 4 h after admission and more than 4 h
-- before discharge, and not on the discharge day, counts. Each event weighs
-- 1 (a visit), 0.5 for a pharmacy purchase or a bare swipe (a proxy may buy
-- with the patient's card, 条例第17条) or a chronic-disease outpatient
-- session (门诊慢特病, e.g. dialysis), ×2 in another city, ×3 in another
-- province, ×1.5 at night (20:00–06:00). Other inpatient stays are not
-- counted here (overlapping stays and same-day transfers are judged
-- elsewhere). Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los,
           i.region_code AS stay_region
    FROM inpatient_stays s LEFT JOIN institutions i USING (org_code) -- a stay settled in parts is one stay
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
events AS (
    SELECT o.person_id, o.org_code, o.admitted_at AS ev_at, o.visit_type AS kind, o.settlement_id AS ref, o.med_type,
           o.emergency, o.diagnosis_code, o.total_amount AS amount
    FROM settlements o WHERE o.visit_type IN ('outpatient', 'pharmacy')
      AND o.settlement_id NOT IN (SELECT settlement_id FROM reversed_settlements) -- refunded and settled again: one visit
    UNION ALL
    SELECT w.person_id, w.org_code, w.swiped_at, 'swipe_' || w.kind, w.swipe_id, NULL, NULL, NULL, w.amount
    FROM card_swipes w
    WHERE w.kind <> 'refund'
      AND (w.settlement_id IS NULL OR w.settlement_id NOT IN (SELECT settlement_id FROM settlements))
),
hits AS (
    SELECT st.settlement_id, e.*, io.name AS org_name, io.level AS org_level, io.region_code AS region,
           CASE WHEN e.kind = 'outpatient' AND coalesce(e.med_type, '') <> '14' THEN 1.0 ELSE 0.5 END AS base,
           CASE WHEN io.region_code IS NULL OR st.stay_region IS NULL THEN 1.0
                WHEN left(io.region_code, 2) <> left(st.stay_region, 2) THEN coalesce(getvariable('weight_other_province'), 3)
                WHEN left(io.region_code, 4) <> left(st.stay_region, 4) THEN coalesce(getvariable('weight_other_city'), 2)
                ELSE 1.0 END AS place_w,
           CASE WHEN hour(e.ev_at) >= 20 OR hour(e.ev_at) < 6 THEN coalesce(getvariable('weight_night'), 1.5) ELSE 1.0 END AS night_w
    FROM stays st
    JOIN events e ON e.person_id = st.person_id AND e.org_code <> st.org_code
         AND e.ev_at > st.admitted_at + to_hours(CAST(coalesce(getvariable('margin_hours'), 4) AS INTEGER))
         AND e.ev_at < st.discharged_at - to_hours(CAST(coalesce(getvariable('margin_hours'), 4) AS INTEGER))
         AND e.ev_at::DATE < st.discharged_at::DATE
    LEFT JOIN institutions io ON io.org_code = e.org_code
),
agg AS (
    SELECT settlement_id, sum(base * place_w * night_w) AS weight, count(*) AS events, count(DISTINCT ev_at::DATE) AS days,
           max(place_w) AS max_place_w, max(night_w) AS max_night_w,
           list(json_object('at', strftime(ev_at, '%Y-%m-%d %H:%M:%S'), 'kind', kind, 'ref', ref, 'org_code', org_code,
                            'org_name', org_name, 'org_level', org_level, 'region', region, 'med_type', med_type,
                            'emergency', emergency, 'diagnosis_code', diagnosis_code, 'amount', amount::VARCHAR,
                            'weight', base * place_w * night_w)
                ORDER BY ev_at, ref)[1:20] AS facts_list
    FROM hits GROUP BY settlement_id
)
SELECT st.settlement_id AS subject_id,
       st.org_code,
       least(1.0, 0.5 + 0.1 * (a.weight - coalesce(getvariable('min_weight'), 1))) AS score,
       (st.at_risk * least(a.days, st.los) / st.los)::DECIMAL(18,2) AS amount_at_risk,
       '住院期间（' || strftime(st.admitted_at, '%Y-%m-%d %H:%M') || '至' || strftime(st.discharged_at, '%Y-%m-%d %H:%M') || '）在其他机构有' ||
           a.events || '次就诊/购药/刷卡，分布在' || a.days || '天，加权分' || round(a.weight, 2) AS summary,
       json_object(
           'stay', json_object('settlement_id', st.settlement_id, 'person_id', st.person_id,
                               'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', st.los, 'diagnosis_code', st.diagnosis_code, 'med_type', st.med_type),
           'org', json_object('org_code', st.org_code, 'name', i.name, 'level', i.level, 'region_code', st.stay_region),
           'outside_events', a.facts_list, 'weighted_events', round(a.weight, 2), 'absent_days', a.days,
           'fund_and_account_paid', st.at_risk::VARCHAR
       ) AS facts,
       json_object('weighted_events', round(a.weight, 2), 'place_weight', a.max_place_w, 'night_weight', a.max_night_w) AS score_parts
FROM agg a JOIN stays st USING (settlement_id) LEFT JOIN institutions i ON i.org_code = st.org_code
WHERE a.weight >= coalesce(getvariable('min_weight'), 1)
