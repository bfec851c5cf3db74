-- impersonation.sex_conflict: a diagnosis or a fee item restricted to the
-- other sex (GZ10000204006000 诊断与患者性别不符; GZ10000301004000 /
-- GZ10000302004000 药品/医疗服务项目区分性别使用). Restrictions come from
-- ref_diagnosis_rule, ref_item_rule (package codes) and the treatment
-- region's catalogue (catalog.sex_restriction for the line's date).
-- Newborn on the mother's credential (新生儿随母): on the settlement of a
-- woman of child-bearing age that carries a perinatal code (P chapter, Z38),
-- a delivery (O chapter) or neonatal items, sex-restricted items may be the
-- baby's and are not conflicts. Runs as is in the DuckDB CLI.
WITH vis AS (   -- what the checks read of every settlement (the rest only for the hits)
    SELECT s.settlement_id, s.diagnosis_code, p.sex, date_sub('year', p.birth_date, s.admitted_at::DATE) AS age
    FROM settlements s JOIN persons p USING (person_id)
),
restricted AS (   -- sex-restricted items: the catalogue's own column, else the reference table
    SELECT item_code, sex_restriction AS sex, valid_from, valid_to, item_name AS name
    FROM catalog WHERE sex_restriction IN (1, 2)
    UNION ALL
    SELECT item_code, sex, DATE '1900-01-01', NULL, name FROM ref_item_rule WHERE sex IN (1, 2)
),
neonatal AS (
    SELECT DISTINCT f.settlement_id FROM fee_items f JOIN ref_item_rule r ON r.item_code = f.item_code AND r.neonatal
),
dx AS (
    SELECT v.settlement_id, r.sex AS dx_sex, r.name AS range_name, coalesce(d.name, r.name) AS dx_name
    FROM vis v
    JOIN ref_diagnosis_rule r ON upper(substr(v.diagnosis_code, 1, 3)) BETWEEN r.cat_from AND r.cat_to
    LEFT JOIN ref_diagnosis d ON d.code = v.diagnosis_code
    WHERE r.sex IS NOT NULL AND r.sex <> v.sex
),
restricted_lines AS MATERIALIZED (   -- the few lines of restricted items, before any settlement is joined
    SELECT f.settlement_id, f.item_id, f.item_code, f.item_name, f.charged_at, f.amount, x.sex
    FROM fee_items f
    JOIN restricted x ON x.item_code = f.item_code AND f.charged_at::DATE >= x.valid_from
                      AND f.charged_at::DATE <= coalesce(x.valid_to, DATE '9999-12-31')
),
lines AS (   -- each restricted line once, even when the catalogue and the reference table both restrict it
    SELECT DISTINCT r.settlement_id, r.item_id, r.item_code, r.item_name, r.charged_at, r.amount, r.sex
    FROM restricted_lines r
    JOIN vis v ON v.settlement_id = r.settlement_id AND r.sex <> v.sex
),
items AS (
    SELECT settlement_id,
           to_json(list(json_object('item_code', item_code, 'item_name', item_name,
                'restricted_to', CASE sex WHEN 1 THEN '限男性' ELSE '限女性' END,
                'charged_at', strftime(charged_at, '%Y-%m-%d %H:%M:%S'), 'amount', amount::VARCHAR)
                ORDER BY charged_at, item_id)) AS lines,
           count(*) AS n_lines,
           sum(amount) AS amount
    FROM lines
    GROUP BY settlement_id
),
hit_vis AS (   -- the settlements with a restricted diagnosis or line, whole
    SELECT s.settlement_id, s.person_id, s.org_code, s.visit_type, s.admitted_at, s.discharged_at, s.diagnosis_code,
           s.total_amount, s.fund_paid, s.account_paid, p.sex,
           date_sub('year', p.birth_date, s.admitted_at::DATE) AS age
    FROM settlements s JOIN persons p USING (person_id)
    WHERE s.settlement_id IN (SELECT settlement_id FROM dx UNION SELECT settlement_id FROM items)
),
ctx AS (   -- the newborn-on-mother context of a settlement
    SELECT v.settlement_id,
           v.sex = 2 AND v.age BETWEEN 12 AND 55 AND (
               upper(substr(v.diagnosis_code, 1, 1)) IN ('O', 'P') OR upper(substr(v.diagnosis_code, 1, 3)) = 'Z38'
               OR v.settlement_id IN (SELECT settlement_id FROM neonatal)) AS mother
    FROM hit_vis v
),
hits AS (
    SELECT v.*, dx.dx_name, dx.range_name, dx.dx_sex,
           CASE WHEN c.mother THEN NULL ELSE i.lines END AS lines,
           CASE WHEN c.mother THEN 0 ELSE coalesce(i.n_lines, 0) END AS n_lines,
           CASE WHEN c.mother THEN 0 ELSE coalesce(i.amount, 0) END AS item_amount
    FROM hit_vis v
    JOIN ctx c USING (settlement_id)
    LEFT JOIN dx USING (settlement_id)
    LEFT JOIN items i USING (settlement_id)
    WHERE dx.settlement_id IS NOT NULL OR (i.settlement_id IS NOT NULL AND NOT c.mother)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       1 - (1 - CASE WHEN h.dx_name IS NOT NULL THEN coalesce(getvariable('dx_score'), 0.85) ELSE 0 END)
         * (1 - CASE WHEN h.n_lines > 0 THEN coalesce(getvariable('item_score'), 0.75) ELSE 0 END) AS score,
       h.fund_paid + h.account_paid AS amount_at_risk,
       CASE h.sex WHEN 1 THEN '男' ELSE '女' END || '性参保人' || h.person_id || '（' || h.age || '岁）在' || coalesce(i.name, h.org_code) || '的结算出现' ||
       concat_ws('，',
           CASE WHEN h.dx_name IS NOT NULL THEN
               CASE h.dx_sex WHEN 1 THEN '限男性' ELSE '限女性' END || '诊断' || h.diagnosis_code || ' ' || h.dx_name END,
           CASE WHEN h.n_lines > 0 THEN h.n_lines || '条限' || CASE h.sex WHEN 1 THEN '女' ELSE '男' END || '性收费项目（' || h.item_amount || '元）' END) AS summary,
       json_object(
           'person', json_object('person_id', h.person_id, 'sex', CASE h.sex WHEN 1 THEN '男' ELSE '女' END, 'age', h.age),
           'visit', json_object('settlement_id', h.settlement_id, 'visit_type', h.visit_type,
                                'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                                'total_amount', h.total_amount::VARCHAR),
           'diagnosis', json_object('code', h.diagnosis_code,
                                    'name', coalesce(h.dx_name, (SELECT name FROM ref_diagnosis WHERE code = h.diagnosis_code)),
                                    'restricted_to', CASE h.dx_sex WHEN 1 THEN '限男性' WHEN 2 THEN '限女性' END,
                                    'range', h.range_name),
           'items', coalesce(h.lines, '[]'::JSON),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('diagnosis', CASE WHEN h.dx_name IS NOT NULL THEN coalesce(getvariable('dx_score'), 0.85) ELSE 0 END,
                   'items', CASE WHEN h.n_lines > 0 THEN coalesce(getvariable('item_score'), 0.75) ELSE 0 END) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
