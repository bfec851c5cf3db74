-- impersonation.card_person_mismatch: a settlement made with a card that
-- belongs to another person (人卡不符). The holder of a card is the person
-- the card platform records on its swipes (card_swipes.person_id, the card
-- holder; each swipe counts twice) and, failing swipes, the person most of
-- its settlements name; a settlement of anyone else with that card is
-- flagged. A re-issued card has a new number, so one person with an old and
-- a new card is not a conflict. Runs as is in the DuckDB CLI.
-- the cards used by more than one person: only theirs are weighed (1 M
-- persons: the rule's CPU 2.9 → 2.2–2.6 s). Counted from the distinct
-- card and person pairs: min(person_id) <> max(person_id) per card kept a
-- string state per card and spilled (the rule 1.18-1.35 s at 1 M persons,
-- 6.1-6.6 s at 2.5 M; now 0.84-0.92 s and 2.4-2.5 s, the same rows)
WITH shared AS (
    SELECT card_no FROM (SELECT card_no, person_id FROM card_swipes UNION SELECT card_no, person_id FROM settlements)
    GROUP BY card_no HAVING count(*) > 1
),
uses AS (
    SELECT card_no, person_id, 2 * count(*) AS weight, count(*) AS swipes, 0 AS settlements FROM card_swipes SEMI JOIN shared USING (card_no) GROUP BY ALL
    UNION ALL
    SELECT card_no, person_id, count(*), 0, count(*) FROM settlements SEMI JOIN shared USING (card_no) GROUP BY ALL
),
per_person AS (
    SELECT card_no, person_id, sum(weight) AS weight, sum(swipes) AS swipes, sum(settlements) AS settlements
    FROM uses GROUP BY ALL
),
holder AS (
    SELECT card_no, arg_max(person_id, (weight, person_id)) AS holder_id, count(*) AS n_persons,
           sum(swipes) AS swipes, sum(settlements) AS settlements
    FROM per_person GROUP BY card_no
    HAVING count(*) > 1
),
hits AS (
    SELECT s.settlement_id, s.person_id, s.card_no, s.org_code, s.visit_type, s.admitted_at, s.settled_at, s.diagnosis_code,
           s.total_amount, s.fund_paid, s.account_paid, h.holder_id, h.n_persons, h.swipes, h.settlements,
           (SELECT sum(u.swipes) FROM per_person u WHERE u.card_no = s.card_no AND u.person_id = h.holder_id) AS holder_swipes
    FROM settlements s JOIN holder h USING (card_no)
    WHERE s.person_id <> h.holder_id
)
SELECT x.settlement_id AS subject_id,
       x.org_code,
       least(0.95, coalesce(getvariable('base_score'), 0.8)
             + CASE WHEN u.sex <> hp.sex THEN 0.1 ELSE 0 END
             + CASE WHEN abs(date_sub('year', u.birth_date, x.admitted_at::DATE) - date_sub('year', hp.birth_date, x.admitted_at::DATE)) >= 15 THEN 0.05 ELSE 0 END) AS score,
       x.fund_paid + x.account_paid AS amount_at_risk,
       '卡号' || x.card_no || '登记持卡人为' || x.holder_id || '（' || CASE hp.sex WHEN 1 THEN '男' ELSE '女' END ||
       date_sub('year', hp.birth_date, x.admitted_at::DATE) || '岁），却用于参保人' || x.person_id || '（' ||
       CASE u.sex WHEN 1 THEN '男' ELSE '女' END || date_sub('year', u.birth_date, x.admitted_at::DATE) || '岁）在' ||
       coalesce(i.name, x.org_code) || '的结算（' || x.total_amount || '元）' AS summary,
       json_object(
           'card_no', x.card_no,
           'card_holder', json_object('person_id', x.holder_id, 'sex', CASE hp.sex WHEN 1 THEN '男' ELSE '女' END,
                                      'age', date_sub('year', hp.birth_date, x.admitted_at::DATE), 'holder_swipes', coalesce(x.holder_swipes, 0)),
           'person', json_object('person_id', x.person_id, 'sex', CASE u.sex WHEN 1 THEN '男' ELSE '女' END,
                                 'age', date_sub('year', u.birth_date, x.admitted_at::DATE)),
           'persons_on_card', x.n_persons,
           'visit', json_object('settlement_id', x.settlement_id, 'visit_type', x.visit_type,
                                'admitted_at', strftime(x.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'settled_at', strftime(x.settled_at, '%Y-%m-%d %H:%M:%S'),
                                'diagnosis_code', x.diagnosis_code, 'diagnosis_name', d.name, 'total_amount', x.total_amount::VARCHAR),
           'org', json_object('org_code', x.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('card_of_other_person', coalesce(getvariable('base_score'), 0.8),
                   'sex_differs', CASE WHEN u.sex <> hp.sex THEN 0.1 ELSE 0 END) AS score_parts
FROM hits x
JOIN persons u ON u.person_id = x.person_id
LEFT JOIN persons hp ON hp.person_id = x.holder_id
LEFT JOIN institutions i ON i.org_code = x.org_code
LEFT JOIN ref_diagnosis d ON d.code = x.diagnosis_code
