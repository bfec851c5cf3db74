-- ghost_bed.charges_outside_stay: fee lines of an inpatient settlement dated
-- more than 24 h before admission or after discharge (GZ10000201008000
-- 住院期间外收费). Tests shortly before admission fall inside the tolerance;
-- 出院带药 lines (dscg_tkdrug_flag) are excused. The amount at risk is the
-- fund and account share of the outside lines. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.total_amount, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
outside AS (
    SELECT f.settlement_id, f.item_code, f.item_name, f.category, f.amount, f.charged_at,
           CASE WHEN f.charged_at < st.admitted_at THEN 'before_admission' ELSE 'after_discharge' END AS side,
           CASE WHEN f.charged_at < st.admitted_at THEN date_diff('minute', f.charged_at, st.admitted_at)
                ELSE date_diff('minute', st.discharged_at, f.charged_at) END / 60.0 AS hours_outside
    FROM fee_items f JOIN stays st USING (settlement_id)
    WHERE NOT coalesce(f.dscg_tkdrug_flag, false)
      AND (f.charged_at < st.admitted_at - to_hours(CAST(coalesce(getvariable('tolerance_hours'), 24) AS INTEGER))
           OR f.charged_at > st.discharged_at + to_hours(CAST(coalesce(getvariable('tolerance_hours'), 24) AS INTEGER)))
),
agg AS (
    SELECT settlement_id, count(*) AS lines, sum(amount) AS amount, max(hours_outside) AS max_hours,
           list(json_object('item_code', item_code, 'item_name', item_name, 'category', category, 'amount', amount::VARCHAR,
                            'charged_at', strftime(charged_at, '%Y-%m-%d %H:%M:%S'), 'side', side,
                            'hours_outside', round(hours_outside, 1))
                ORDER BY charged_at, item_code)[1:20] AS sample
    FROM outside GROUP BY settlement_id
)
SELECT st.settlement_id AS subject_id,
       st.org_code,
       least(1.0, 0.6 + 0.05 * least(a.lines, 4) + 0.1 * least(a.max_hours / 72.0, 1)) AS score,
       CASE WHEN st.total_amount > 0 THEN least(st.at_risk, a.amount * st.at_risk / st.total_amount) ELSE 0 END::DECIMAL(18,2) AS amount_at_risk,
       '有' || a.lines || '条费用明细（' || a.amount || '元）记在住院期间之外，最远超出' || round(a.max_hours, 1) ||
           '小时（入院' || strftime(st.admitted_at, '%Y-%m-%d %H:%M') || '，出院' || strftime(st.discharged_at, '%Y-%m-%d %H:%M') || '）' AS summary,
       json_object(
           'stay', json_object('settlement_id', st.settlement_id, 'person_id', st.person_id,
                               'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', st.los, 'diagnosis_code', st.diagnosis_code, 'med_type', st.med_type,
                               'total_amount', st.total_amount::VARCHAR),
           'org', json_object('org_code', st.org_code, 'name', i.name, 'level', i.level),
           'outside_lines', a.lines, 'outside_amount', a.amount::VARCHAR, 'max_hours_outside', round(a.max_hours, 1),
           'lines', a.sample,
           'fund_and_account_paid', st.at_risk::VARCHAR
       ) AS facts,
       json_object('outside_lines', a.lines, 'max_hours_outside', round(a.max_hours, 1)) AS score_parts
FROM agg a JOIN stays st USING (settlement_id) LEFT JOIN institutions i USING (org_code)
