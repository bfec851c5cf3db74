-- ghost_bed.exam_only: stays whose exams and labs make up most of the amount,
-- with no treatment or surgery line at all (通渭县 standard: 检查费占比 ≥ 80%
-- 且无明确治疗 — admitted for tests only, 低标准入院). Day surgery is skipped.
-- A genuine diagnostic work-up looks the same, so the score stays moderate
-- and the review panel decides. Runs as is in the DuckDB CLI.
-- The lines group by the stay's rowid, not its id: an integer key groups
-- faster (1 M persons: the rule's CPU 3.8–4.3 → 3.5–3.7 s).
WITH stays AS (
    SELECT s.rowid AS srow, s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.total_amount, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND coalesce(s.med_type, '') <> '28'
),
mix AS (
    SELECT st.srow,
           sum(f.amount) AS line_total,
           coalesce(sum(f.amount) FILTER (WHERE f.category = 'exam'), 0) AS exam_amount,
           coalesce(sum(f.amount) FILTER (WHERE f.category = 'lab'), 0) AS lab_amount,
           count(*) FILTER (WHERE f.category IN ('exam', 'lab')) AS test_lines,
           count(*) FILTER (WHERE f.category IN ('treatment', 'surgery')) AS treatment_lines,
           count(*) FILTER (WHERE f.category = 'drug' AND NOT coalesce(f.dscg_tkdrug_flag, false)) AS drug_lines
    FROM fee_items f JOIN stays st USING (settlement_id)
    GROUP BY st.srow
),
hits AS (
    SELECT st.*, m.line_total, m.exam_amount, m.lab_amount, m.test_lines, m.drug_lines,
           (m.exam_amount + m.lab_amount) / m.line_total AS share
    FROM stays st JOIN mix m USING (srow)
    WHERE m.line_total > 0 AND m.treatment_lines = 0
      AND (m.exam_amount + m.lab_amount) / m.line_total >= coalesce(getvariable('min_exam_share'), 0.8)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(0.9, 0.5 + 1.5 * (h.share - coalesce(getvariable('min_exam_share'), 0.8)) + CASE WHEN h.drug_lines = 0 THEN 0.1 ELSE 0 END) AS score,
       h.at_risk AS amount_at_risk,
       '住院' || h.los || '天，检查化验费' || (h.exam_amount + h.lab_amount) || '元，占费用总额的' || round(100 * h.share, 1) ||
           '%，无任何治疗或手术项目' || CASE WHEN h.drug_lines = 0 THEN '，也无用药' ELSE '' END AS summary,
       json_object(
           'stay', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                               'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', h.los, 'diagnosis_code', h.diagnosis_code, 'med_type', h.med_type,
                               'total_amount', h.total_amount::VARCHAR),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level, 'specialty', i.specialty),
           'exam_amount', h.exam_amount::VARCHAR, 'lab_amount', h.lab_amount::VARCHAR,
           'exam_lab_share', round(h.share, 4), 'exam_lab_lines', h.test_lines,
           'treatment_or_surgery_lines', 0, 'drug_lines', h.drug_lines,
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('exam_share_margin', round(h.share - coalesce(getvariable('min_exam_share'), 0.8), 4),
                   'no_drugs', CASE WHEN h.drug_lines = 0 THEN 1 ELSE 0 END) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
