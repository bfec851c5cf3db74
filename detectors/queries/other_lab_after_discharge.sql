-- other.lab_after_discharge: lab or exam lines of an inpatient settlement
-- dated after the discharge (检验检查日期晚于出院). Lines within grace_hours
-- (a report posted after the patient left) are tolerated. Runs as is in the
-- DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.total_amount,
           s.fund_paid + s.account_paid AS at_risk
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
lines AS (
    SELECT f.settlement_id, count(*) AS n, sum(f.amount) AS amount, max(f.charged_at) AS last_at,
           list(json_object('item_code', f.item_code, 'item_name', f.item_name, 'category', f.category,
                            'charged_at', strftime(f.charged_at, '%Y-%m-%d %H:%M:%S'), 'amount', f.amount::VARCHAR)
                ORDER BY f.charged_at, f.item_code)[1:20] AS sample
    FROM fee_items f JOIN stays st USING (settlement_id)
    WHERE f.category IN ('lab', 'exam')
      AND f.charged_at > st.discharged_at + to_hours(CAST(coalesce(getvariable('grace_hours'), 2) AS INTEGER))
    GROUP BY f.settlement_id
)
SELECT st.settlement_id AS subject_id,
       st.org_code,
       least(1.0, 0.6 + 0.05 * l.n) AS score,
       CASE WHEN st.total_amount > 0 THEN least(st.at_risk, l.amount * st.at_risk / st.total_amount) ELSE 0 END::DECIMAL(18,2) AS amount_at_risk,
       l.n || '条检验检查（' || l.amount || '元）记在出院（' || strftime(st.discharged_at, '%Y-%m-%d %H:%M') || '）之后，最晚' ||
           strftime(l.last_at, '%Y-%m-%d %H:%M') AS summary,
       json_object(
           'stay', json_object('settlement_id', st.settlement_id, 'person_id', st.person_id,
                               'admitted_at', strftime(st.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(st.discharged_at, '%Y-%m-%d %H:%M:%S'), 'diagnosis_code', st.diagnosis_code),
           'org', json_object('org_code', st.org_code, 'name', i.name, 'level', i.level),
           'lines_after_discharge', l.n, 'amount_after_discharge', l.amount::VARCHAR, 'lines', l.sample,
           'fund_and_account_paid', st.at_risk::VARCHAR
       ) AS facts,
       NULL AS score_parts
FROM lines l JOIN stays st USING (settlement_id) LEFT JOIN institutions i USING (org_code)
