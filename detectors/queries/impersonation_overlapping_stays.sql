-- impersonation.overlapping_stays: one person in two inpatient stays at
-- different institutions at the same time (重叠住院). The stay admitted later
-- (the one that began while the person was already an inpatient elsewhere)
-- is the suspected impersonated one; the evidence shows both. A same-day
-- transfer (discharge at A, admission at B) overlaps by at most a few hours
-- and stays under the threshold. Runs as is in the DuckDB CLI.
WITH st AS (
    SELECT settlement_id, person_id, org_code, admitted_at, discharged_at, diagnosis_code, total_amount, fund_paid, account_paid, dscg_way
    FROM settlements
    WHERE visit_type = 'inpatient' AND discharged_at IS NOT NULL
),
pairs AS (
    SELECT x.settlement_id, x.person_id, x.org_code, x.admitted_at, x.discharged_at, x.diagnosis_code, x.total_amount,
           x.fund_paid, x.account_paid,
           y.settlement_id AS other_id, y.org_code AS other_org, y.admitted_at AS other_admitted, y.discharged_at AS other_discharged,
           y.diagnosis_code AS other_dx, y.dscg_way AS other_dscg_way,
           date_diff('minute', greatest(x.admitted_at, y.admitted_at), least(x.discharged_at, y.discharged_at)) / 60.0 AS overlap_h,
           x.discharged_at <= y.discharged_at AS nested
    FROM st x JOIN st y
      ON x.person_id = y.person_id AND x.org_code <> y.org_code
     AND y.admitted_at < x.discharged_at AND x.admitted_at < y.discharged_at
     AND (x.admitted_at > y.admitted_at OR (x.admitted_at = y.admitted_at AND x.settlement_id > y.settlement_id))
),
best AS (   -- the longest overlap of each later stay
    SELECT *, count(*) OVER (PARTITION BY settlement_id) AS n_overlaps
    FROM pairs
    WHERE overlap_h > coalesce(getvariable('min_overlap_hours'), 12)
    QUALIFY row_number() OVER (PARTITION BY settlement_id ORDER BY overlap_h DESC, other_id) = 1
)
SELECT b.settlement_id AS subject_id,
       b.org_code,
       least(0.95, 0.6 + 0.35 * least(1, b.overlap_h / 72.0) + CASE WHEN b.nested THEN 0.05 ELSE 0 END) AS score,
       b.fund_paid + b.account_paid AS amount_at_risk,
       CASE p.sex WHEN 1 THEN '男' ELSE '女' END || '性参保人' || b.person_id || '（' || date_sub('year', p.birth_date, b.admitted_at::DATE) || '岁）在' ||
       coalesce(oi.name, b.other_org) || '住院期间（' || strftime(b.other_admitted, '%m-%d %H:%M') || '至' || strftime(b.other_discharged, '%m-%d %H:%M') ||
       '）又在' || coalesce(i.name, b.org_code) || '住院（' || strftime(b.admitted_at, '%m-%d %H:%M') || '至' || strftime(b.discharged_at, '%m-%d %H:%M') ||
       '），重叠' || round(b.overlap_h, 1) || '小时' AS summary,
       json_object(
           'person', json_object('person_id', b.person_id, 'sex', CASE p.sex WHEN 1 THEN '男' ELSE '女' END,
                                 'age', date_sub('year', p.birth_date, b.admitted_at::DATE)),
           'stay', json_object('settlement_id', b.settlement_id, 'org_code', b.org_code, 'org_name', i.name, 'org_level', i.level,
                               'admitted_at', strftime(b.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(b.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'diagnosis_code', b.diagnosis_code, 'diagnosis_name', d.name, 'total_amount', b.total_amount::VARCHAR),
           'other_stay', json_object('settlement_id', b.other_id, 'org_code', b.other_org, 'org_name', oi.name, 'org_level', oi.level,
                               'admitted_at', strftime(b.other_admitted, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(b.other_discharged, '%Y-%m-%d %H:%M:%S'),
                               'diagnosis_code', b.other_dx, 'diagnosis_name', od.name, 'dscg_way', b.other_dscg_way),
           'overlap_hours', round(b.overlap_h, 1),
           'nested_inside_other', b.nested,
           'stays_overlapped', b.n_overlaps,
           'why_this_stay', '本次住院开始时参保人已在另一机构住院，以后开始的住院为冒名嫌疑'
       ) AS facts,
       json_object('overlap', 0.6 + 0.35 * least(1, b.overlap_h / 72.0), 'nested', CASE WHEN b.nested THEN 0.05 ELSE 0 END) AS score_parts
FROM best b
JOIN persons p USING (person_id)
LEFT JOIN institutions i ON i.org_code = b.org_code
LEFT JOIN institutions oi ON oi.org_code = b.other_org
LEFT JOIN ref_diagnosis d ON d.code = b.diagnosis_code
LEFT JOIN ref_diagnosis od ON od.code = b.other_dx
