-- impersonation.id_inconsistent: the ID number's sex digit (17th, odd = male)
-- or birth digits (7–14) contradict persons.sex / persons.birth_date (GB
-- 11643). The ingest loads such persons with a data_quality note; every
-- settlement of theirs is flagged, since the identity behind the claims is
-- in doubt. The ID number itself never leaves the database: the evidence
-- says what the ID implies (sex; how far its birth date is from the
-- recorded one). Legacy 15-digit conversions and clerical errors are the
-- usual innocent causes. Runs as is in the DuckDB CLI.
WITH ids AS (
    SELECT person_id, sex, birth_date,
           CASE WHEN TRY_CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 1 ELSE 2 END AS id_sex,
           try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE AS id_birth
    FROM persons
    -- Only the resident ID (cert_type 01 or not given) carries GB 11643
    -- birth and sex digits; a passport or another credential does not.
    WHERE length(id_number) = 18 AND coalesce(cert_type, '01') = '01'
),
bad AS (
    SELECT *, id_sex <> sex AS sex_off, coalesce(id_birth <> birth_date, true) AS birth_off,
           abs(date_diff('day', id_birth, birth_date)) AS birth_days_off,
           person_id IN (SELECT record_key FROM data_quality WHERE table_name = 'persons' AND column_name = 'id_number') AS noted
    FROM ids
    WHERE id_sex <> sex OR id_birth IS DISTINCT FROM birth_date
),
scored AS (
    SELECT b.*, s.settlement_id, s.org_code, s.visit_type, s.admitted_at, s.diagnosis_code, s.total_amount, s.fund_paid, s.account_paid,
           CASE WHEN b.sex_off THEN coalesce(getvariable('sex_score'), 0.7) ELSE 0 END AS sex_part,
           CASE WHEN b.birth_off THEN coalesce(getvariable('birth_score'), 0.6) ELSE 0 END AS birth_part,
           count(*) OVER (PARTITION BY b.person_id) AS n_settlements
    FROM bad b JOIN settlements s USING (person_id)
)
SELECT x.settlement_id AS subject_id,
       x.org_code,
       1 - (1 - x.sex_part) * (1 - x.birth_part) AS score,
       x.fund_paid + x.account_paid AS amount_at_risk,
       '参保人' || x.person_id || '登记为' || CASE x.sex WHEN 1 THEN '男' ELSE '女' END || '性、' ||
       date_sub('year', x.birth_date, x.admitted_at::DATE) || '岁，' ||
       concat_ws('，',
           CASE WHEN x.sex_off THEN '身份证号码性别位显示为' || CASE x.id_sex WHEN 1 THEN '男' ELSE '女' END || '性' END,
           CASE WHEN x.birth_off THEN '身份证号码出生日期与登记出生日期' ||
               coalesce('相差' || x.birth_days_off || '天', '不符') END) ||
       '；其在' || coalesce(i.name, x.org_code) || '的结算（' || x.total_amount || '元）身份存疑' AS summary,
       json_object(
           'person', json_object('person_id', x.person_id, 'sex', CASE x.sex WHEN 1 THEN '男' ELSE '女' END,
                                 'age', date_sub('year', x.birth_date, x.admitted_at::DATE)),
           'id_number_implies', json_object('sex', CASE x.id_sex WHEN 1 THEN '男' ELSE '女' END,
                                            'birth_date_matches', NOT x.birth_off, 'birth_days_off', x.birth_days_off),
           'data_quality_note', x.noted,
           'settlements_of_person', x.n_settlements,
           'visit', json_object('settlement_id', x.settlement_id, 'visit_type', x.visit_type,
                                'admitted_at', strftime(x.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'diagnosis_code', x.diagnosis_code, 'diagnosis_name', d.name, 'total_amount', x.total_amount::VARCHAR),
           'org', json_object('org_code', x.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('sex_digit', x.sex_part, 'birth_digits', x.birth_part) AS score_parts
FROM scored x
LEFT JOIN institutions i ON i.org_code = x.org_code
LEFT JOIN ref_diagnosis d ON d.code = x.diagnosis_code
