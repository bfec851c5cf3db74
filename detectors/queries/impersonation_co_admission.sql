-- impersonation.co_admission: the same set of at least three persons admitted
-- together (same institution, admissions within window_minutes of each
-- other) on at least two occasions (结伴住院; borrowed identities admitted
-- as a crew). Pairs of persons co-admitted twice are found first (a banded
-- self-join on institution and time bucket, no full cross join); a group is
-- three persons pairwise co-admitted on the same occasion, repeated. Each
-- member's stay on each such occasion is flagged. A single family outbreak
-- or group admission is one occasion and does not count (ghost_bed's
-- group_admission covers one-off crowds). Scheduled treatment cycles (the
-- scheduled_cycle list of ref_diagnosis_list: chemo/radiotherapy courses,
-- dialysis; declared planned readmissions) recur in step
-- by design and are left out. Runs as is in the DuckDB CLI.
WITH st AS (
    SELECT settlement_id, person_id, org_code, admitted_at,
           floor(epoch(admitted_at) / (60 * coalesce(getvariable('window_minutes'), 30)))::BIGINT AS bucket
    FROM settlements
    WHERE visit_type = 'inpatient'
      -- scheduled cycles (放化疗疗程, dialysis): the shared list
      AND NOT EXISTS (SELECT 1 FROM ref_diagnosis_list r WHERE r.list = 'scheduled_cycle' AND starts_with(coalesce(diagnosis_code, ''), r.prefix))
      AND NOT coalesce(days_rinp_flag_31, false)                        -- declared planned readmissions
    -- a pair repeats only between persons admitted at least min_times: the
    -- others cannot be in a repeated pair
    QUALIFY count(*) OVER (PARTITION BY person_id) >= coalesce(getvariable('min_times'), 2)
),
occ AS (   -- pair occasions: a < b, same org, admissions within the window
    SELECT x.person_id AS a, y.person_id AS b, x.settlement_id AS sa, y.settlement_id AS sb, x.org_code
    FROM st x
    JOIN (SELECT *, unnest([bucket - 1, bucket, bucket + 1]) AS nb FROM st) y
      ON y.org_code = x.org_code AND y.nb = x.bucket AND x.person_id < y.person_id
    WHERE abs(date_diff('second', x.admitted_at, y.admitted_at)) <= 60 * coalesce(getvariable('window_minutes'), 30)
),
often AS (   -- pairs with at least min_times pair rows: only they can have as many distinct occasions
    SELECT a, b FROM occ GROUP BY a, b HAVING count(*) >= coalesce(getvariable('min_times'), 2)
),
rep AS (   -- pairs co-admitted on at least min_times distinct occasions
    SELECT a, b FROM occ SEMI JOIN often USING (a, b) GROUP BY a, b
    HAVING count(DISTINCT sa) >= coalesce(getvariable('min_times'), 2) AND count(DISTINCT sb) >= coalesce(getvariable('min_times'), 2)
),
ro AS (SELECT o.* FROM occ o JOIN rep USING (a, b)),
tri AS (   -- three persons pairwise co-admitted on one occasion
    SELECT o1.a, o1.b, o2.b AS c, o1.sa, o1.sb, o2.sb AS sc, o1.org_code
    FROM ro o1
    JOIN ro o2 ON o2.a = o1.a AND o2.sa = o1.sa AND o2.b > o1.b
    JOIN ro o3 ON o3.a = o1.b AND o3.b = o2.b AND o3.sa = o1.sb AND o3.sb = o2.sb
),
groups AS (   -- triples seen together on at least min_times occasions
    SELECT a, b, c, count(DISTINCT sa) AS times FROM tri GROUP BY a, b, c
    HAVING count(DISTINCT sa) >= coalesce(getvariable('min_times'), 2)
),
members AS (   -- each flagged stay with the group it belongs to
    SELECT t.sa AS settlement_id, g.a, g.b, g.c, g.times FROM tri t JOIN groups g USING (a, b, c)
    UNION SELECT t.sb, g.a, g.b, g.c, g.times FROM tri t JOIN groups g USING (a, b, c)
    UNION SELECT t.sc, g.a, g.b, g.c, g.times FROM tri t JOIN groups g USING (a, b, c)
),
per_stay AS (
    SELECT settlement_id, arg_max([a, b, c], (times, a, b, c)) AS grp, max(times) AS times,
           count(DISTINCT (a, b, c)) AS n_triples
    FROM members GROUP BY settlement_id
),
grp_persons AS (
    SELECT ps.settlement_id, unnest(ps.grp) AS person_id FROM per_stay ps
),
grp_desc AS (
    SELECT g.settlement_id,
           to_json(list(json_object('person_id', g.person_id, 'sex', CASE p.sex WHEN 1 THEN '男' ELSE '女' END,
                                    'age', date_sub('year', p.birth_date, s.admitted_at::DATE)) ORDER BY g.person_id)) AS persons
    FROM grp_persons g JOIN persons p USING (person_id) JOIN settlements s ON s.settlement_id = g.settlement_id
    GROUP BY g.settlement_id
),
grp_occasions AS (   -- the group's stays at this org: dates of the joint admissions
    SELECT ps.settlement_id,
           to_json(list(DISTINCT strftime(s2.admitted_at, '%Y-%m-%d') ORDER BY strftime(s2.admitted_at, '%Y-%m-%d'))) AS dates
    FROM per_stay ps
    JOIN settlements s ON s.settlement_id = ps.settlement_id
    JOIN members m ON m.a = ps.grp[1] AND m.b = ps.grp[2] AND m.c = ps.grp[3]   -- (a < b < c in both)
    JOIN settlements s2 ON s2.settlement_id = m.settlement_id
    GROUP BY ps.settlement_id
)
SELECT s.settlement_id AS subject_id,
       s.org_code,
       least(0.95, coalesce(getvariable('base_score'), 0.65) + 0.1 * (ps.times - 2) + 0.05 * (ps.n_triples - 1)) AS score,
       s.fund_paid + s.account_paid AS amount_at_risk,
       CASE p.sex WHEN 1 THEN '男' ELSE '女' END || '性参保人' || s.person_id || '（' || date_sub('year', p.birth_date, s.admitted_at::DATE) ||
       '岁）与另外' || (len(ps.grp) - 1) || '人在' || coalesce(i.name, s.org_code) || '共同入院' || ps.times || '次，本次入院' ||
       strftime(s.admitted_at, '%Y-%m-%d %H:%M') AS summary,
       json_object(
           'person', json_object('person_id', s.person_id, 'sex', CASE p.sex WHEN 1 THEN '男' ELSE '女' END,
                                 'age', date_sub('year', p.birth_date, s.admitted_at::DATE)),
           'group', gd.persons,
           'times_admitted_together', ps.times,
           'joint_admission_dates', go.dates,
           'stay', json_object('settlement_id', s.settlement_id, 'admitted_at', strftime(s.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(s.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'diagnosis_code', s.diagnosis_code, 'diagnosis_name', d.name, 'total_amount', s.total_amount::VARCHAR),
           'org', json_object('org_code', s.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('repeated_group', coalesce(getvariable('base_score'), 0.65), 'extra_times', 0.1 * (ps.times - 2),
                   'extra_triples', 0.05 * (ps.n_triples - 1)) AS score_parts
FROM per_stay ps
JOIN settlements s USING (settlement_id)
JOIN persons p ON p.person_id = s.person_id
JOIN grp_desc gd USING (settlement_id)
JOIN grp_occasions go USING (settlement_id)
LEFT JOIN institutions i ON i.org_code = s.org_code
LEFT JOIN ref_diagnosis d ON d.code = s.diagnosis_code
