-- impersonation.atypical_diagnosis: an inpatient admission whose main
-- diagnosis is essentially absent at the card holder's age or sex in the
-- loaded data itself (a stroke on a 9-year-old's card). Frequencies count
-- every diagnosed visit (outpatient and inpatient), so that a few
-- impersonated admissions do not make their own band look typical. Per
-- ICD-10 3-char category c and age band b (the holder's age ± age_window_years,
-- or the holder's sex), the band's rate n_cb/n_b is shrunk
-- (empirical Bayes, beta-binomial) towards a prior rate π_cb = p_c × ρ_b,
-- where p_c is the category's overall rate and ρ_b is the age (sex) profile
-- of the category's chapter (first letter), itself shrunk towards 1:
--   ρ_b = ((n_chb + κ_ch·q_ch)/(n_b + κ_ch)) / q_ch
--   posterior rate θ_cb = (n_cb + κ·π_cb)/(n_b + κ)
-- with the judged visit left out of its own band's counts (n − 1)
-- and the admission is flagged when the relative rate θ_cb / p_c is below
-- max_relative_rate and at least min_expected admissions of the category
-- would be expected in the band at the overall rate (so a small band never
-- fires alone). Perinatal codes (P chapter, Z38) on a woman of child-bearing
-- age are her newborn's (新生儿随母) and are not judged. Subject: the
-- settlement. Runs as is in the DuckDB CLI.
WITH adm AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code,
           s.total_amount, s.fund_paid, s.account_paid, p.sex,
           upper(substr(s.diagnosis_code, 1, 3)) AS cat, upper(substr(s.diagnosis_code, 1, 1)) AS chapter,
           date_sub('year', p.birth_date, s.admitted_at::DATE) AS age, s.visit_type
    FROM settlements s JOIN persons p USING (person_id)
    WHERE s.visit_type IN ('inpatient', 'outpatient') AND length(coalesce(s.diagnosis_code, '')) >= 3
),
-- (NOT MATERIALIZED: the counts below read its cells, and the admissions
-- to judge read it once more. Stored, and counted ten times, the wide
-- visits spilled: the rule took 8.5-8.7 s at 2.5 M persons, 0.86-1.18 s at
-- 1 M; now 1.7-1.8 s and 0.73-0.76 s, the same rows)
banded AS NOT MATERIALIZED (
    SELECT *, CASE sex WHEN 1 THEN 'M' ELSE 'F' END AS sex_band FROM adm
),
-- the visits counted by category, age, sex and whether inpatient: every
-- count below is a sum of these cells
cells AS (
    SELECT cat, chapter, age, sex_band, visit_type = 'inpatient' AS inpatient, count(*) AS n FROM banded GROUP BY ALL
),
total AS (SELECT coalesce(sum(n), 0)::BIGINT AS n FROM cells),
cat AS (SELECT cat, sum(n)::BIGINT AS n_c FROM cells GROUP BY cat),
ch AS (SELECT chapter, sum(n)::BIGINT AS n_ch FROM cells GROUP BY chapter),
-- the admissions to judge, by category and age (or sex)
judged AS (SELECT DISTINCT cat, chapter, age, sex_band FROM cells WHERE inpatient),
-- age: the band is the holder's age ± age_window_years, so that an age at
-- the edge of a fixed band is judged together with its neighbours
h_all AS (SELECT age, sum(n)::BIGINT AS n FROM cells GROUP BY age),
h_cat AS (SELECT cat, age, sum(n)::BIGINT AS n FROM cells GROUP BY cat, age),
h_ch AS (SELECT chapter, age, sum(n)::BIGINT AS n FROM cells GROUP BY chapter, age),
ages AS (SELECT DISTINCT cat, chapter, age FROM judged),
age_b AS (
    SELECT a.age, sum(h.n) AS n_b FROM (SELECT DISTINCT age FROM ages) a
    JOIN h_all h ON h.age BETWEEN a.age - coalesce(getvariable('age_window_years'), 5) AND a.age + coalesce(getvariable('age_window_years'), 5)
    GROUP BY a.age
),
age_cb AS (
    SELECT a.cat, a.age, sum(h.n) AS n_cb FROM ages a
    JOIN h_cat h ON h.cat = a.cat
     AND h.age BETWEEN a.age - coalesce(getvariable('age_window_years'), 5) AND a.age + coalesce(getvariable('age_window_years'), 5)
    GROUP BY ALL
),
age_chb AS (
    SELECT a.chapter, a.age, sum(h.n) AS n_chb FROM (SELECT DISTINCT chapter, age FROM ages) a
    JOIN h_ch h ON h.chapter = a.chapter
     AND h.age BETWEEN a.age - coalesce(getvariable('age_window_years'), 5) AND a.age + coalesce(getvariable('age_window_years'), 5)
    GROUP BY ALL
),
age_cells AS (
    SELECT 'age' AS dim, greatest(a.age - coalesce(getvariable('age_window_years'), 5), 0) || '-' ||
               (a.age + coalesce(getvariable('age_window_years'), 5)) AS band,
           a.age AS age_key, a.cat, a.chapter, cb.n_cb, b.n_b, chb.n_chb
    FROM ages a
    JOIN age_b b USING (age)
    JOIN age_cb cb USING (cat, age)
    JOIN age_chb chb USING (chapter, age)
),
sex_b AS (SELECT sex_band AS band, sum(n)::BIGINT AS n_b FROM cells GROUP BY sex_band),
sex_cb AS (SELECT sex_band AS band, cat, sum(n)::BIGINT AS n_cb FROM cells GROUP BY sex_band, cat),
sex_chb AS (SELECT sex_band AS band, chapter, sum(n)::BIGINT AS n_chb FROM cells GROUP BY sex_band, chapter),
sex_cells AS (
    SELECT 'sex' AS dim, j.band, NULL::BIGINT AS age_key, j.cat, j.chapter, cb.n_cb, b.n_b, chb.n_chb
    FROM (SELECT DISTINCT cat, chapter, sex_band AS band FROM judged) j
    JOIN sex_b b USING (band)
    JOIN sex_cb cb USING (band, cat)
    JOIN sex_chb chb USING (band, chapter)
),
rates AS (
    SELECT cl.*, c.n_c, h.n_ch, t.n, c.n_c / t.n AS p_c, h.n_ch / t.n AS q_ch
    FROM (SELECT * FROM age_cells UNION ALL SELECT * FROM sex_cells) cl
    JOIN cat c USING (cat)
    JOIN ch h USING (chapter),
    total t
),
-- leave one out: a visit is judged against the other visits of its band
posterior AS (
    SELECT *,
           ((n_chb - 1 + coalesce(getvariable('chapter_prior_weight'), 50) * q_ch)
               / (n_b - 1 + coalesce(getvariable('chapter_prior_weight'), 50))) / q_ch AS chapter_ratio
    FROM rates
),
posterior2 AS (
    SELECT *, least(1.0, p_c * chapter_ratio) AS prior_rate,
           (n_cb - 1 + coalesce(getvariable('prior_weight'), 100) * least(1.0, p_c * chapter_ratio))
               / (n_b - 1 + coalesce(getvariable('prior_weight'), 100)) AS posterior_rate
    FROM posterior
),
atypical AS (
    SELECT *, posterior_rate / p_c AS relative_rate, n_b * p_c AS expected
    FROM posterior2
    WHERE posterior_rate / p_c < coalesce(getvariable('max_relative_rate'), 0.1)
      AND n_b * p_c >= coalesce(getvariable('min_expected'), 3)
),
hits AS (
    SELECT v.*, a.dim, a.band, a.n_cb, a.n_b, a.n_c, a.n, a.p_c, a.chapter_ratio, a.prior_rate, a.posterior_rate, a.relative_rate, a.expected,
           row_number() OVER (PARTITION BY v.settlement_id ORDER BY a.relative_rate, a.dim) AS rk
    FROM banded v
    JOIN atypical a ON a.cat = v.cat AND ((a.dim = 'age' AND a.age_key = v.age) OR (a.dim = 'sex' AND a.band = v.sex_band))
    WHERE v.visit_type = 'inpatient'
      AND NOT EXISTS (SELECT 1 FROM ref_diagnosis_rule r
                      WHERE r.newborn AND v.cat BETWEEN r.cat_from AND r.cat_to AND v.sex = 2 AND v.age BETWEEN 12 AND 55)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(0.9, 0.55 + 0.35 * (1 - h.relative_rate / coalesce(getvariable('max_relative_rate'), 0.1))) AS score,
       h.fund_paid + h.account_paid AS amount_at_risk,
       h.age || '岁' || CASE h.sex WHEN 1 THEN '男' ELSE '女' END || '性参保人' || h.person_id || '在' || coalesce(i.name, h.org_code) ||
           '住院，主诊断' || h.diagnosis_code || coalesce(' ' || d.name, '') || '在本数据' ||
           CASE h.dim WHEN 'age' THEN h.band || '岁年龄段' ELSE CASE h.sex WHEN 1 THEN '男性' ELSE '女性' END END ||
           '的就诊中几乎不出现（该段' || h.n_b || '次有诊断的就诊中' || h.n_cb || '次，按总体比例应约' || round(h.expected, 1) || '次）' AS summary,
       json_object(
           'person', json_object('person_id', h.person_id, 'sex', CASE h.sex WHEN 1 THEN '男' ELSE '女' END, 'age', h.age),
           'visit', json_object('settlement_id', h.settlement_id, 'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'), 'total_amount', h.total_amount::VARCHAR),
           'diagnosis', json_object('code', h.diagnosis_code, 'name', d.name, 'category', h.cat),
           'band', json_object('dimension', CASE h.dim WHEN 'age' THEN '年龄段' ELSE '性别' END,
                               'value', CASE h.dim WHEN 'age' THEN h.band ELSE CASE h.sex WHEN 1 THEN '男' ELSE '女' END END,
                               'visits', h.n_b, 'visits_with_category', h.n_cb,
                               'band_rate', round(h.n_cb / h.n_b, 6), 'expected_at_overall_rate', round(h.expected, 2)),
           'category_overall_rate', round(h.p_c, 6), 'category_visits', h.n_c, 'all_visits', h.n,
           'chapter_profile_ratio', round(h.chapter_ratio, 4),
           'prior_rate', round(h.prior_rate, 6), 'posterior_rate', round(h.posterior_rate, 6),
           'relative_rate', round(h.relative_rate, 4),
           'method', 'beta-binomial empirical Bayes: prior = category rate × chapter age/sex profile',
           'newborn_on_mother_checked', h.sex = 2 AND h.age BETWEEN 12 AND 55,
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('atypical', 1 - h.relative_rate / coalesce(getvariable('max_relative_rate'), 0.1)) AS score_parts
FROM hits h
LEFT JOIN institutions i USING (org_code)
LEFT JOIN ref_diagnosis d ON d.code = h.diagnosis_code
WHERE h.rk = 1
