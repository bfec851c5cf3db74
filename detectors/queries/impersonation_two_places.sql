-- impersonation.two_places: the same person (their settlements and the swipes
-- of their card) active in two regions within a time no journey allows:
-- another province within 3 h, another city within 1 h (一人同时多地就医).
-- Events are points in time: a visit's admission, its settlement, every card
-- swipe. Of two consecutive events too close for the distance, the later one
-- is the suspected impersonated visit (the person was demonstrably elsewhere
-- just before); its settlement is the subject (the earlier one's when the
-- later swipe has none). An e-voucher (cert_type 01) can be shown remotely
-- by authorised family: still flagged, with a lower score. Runs as is in the
-- DuckDB CLI.
WITH ev AS (
    SELECT s.person_id, s.settlement_id, s.org_code, s.admitted_at AS ts, '就诊' AS what, NULL AS cert_type
    FROM settlements s
    UNION ALL
    SELECT s.person_id, s.settlement_id, s.org_code, s.settled_at, '结算', NULL FROM settlements s
    UNION ALL
    SELECT w.person_id, w.settlement_id, w.org_code, w.swiped_at,
           CASE w.kind WHEN 'settlement' THEN '刷卡结算' WHEN 'purchase' THEN '刷卡购药' WHEN 'refund' THEN '退费'
                       ELSE '余额查询' END, w.cert_type
    FROM card_swipes w
),
-- persons with events in two cities or more: only they can be in two
-- places (3 % of persons at 1 M, whose events the window then sorts instead
-- of everyone's)
movers AS (
    SELECT person_id FROM (
        SELECT s.person_id, i.region_code FROM settlements s JOIN institutions i USING (org_code)
        UNION ALL
        SELECT w.person_id, i.region_code FROM card_swipes w JOIN institutions i USING (org_code))
    GROUP BY person_id
    HAVING min(substr(region_code, 1, 4)) <> max(substr(region_code, 1, 4))
),
ordered AS (
    SELECT e.*, i.region_code AS region,
           lag(e.ts) OVER w AS prev_at, lag(i.region_code) OVER w AS prev_region, lag(e.org_code) OVER w AS prev_org,
           lag(e.settlement_id) OVER w AS prev_sid, lag(e.what) OVER w AS prev_what, lag(e.cert_type) OVER w AS prev_cert
    FROM ev e JOIN institutions i USING (org_code)
    WHERE e.person_id IN (SELECT person_id FROM movers)
    WINDOW w AS (PARTITION BY e.person_id ORDER BY e.ts, e.settlement_id NULLS LAST, e.what)
),
hits AS (
    SELECT *, date_diff('second', prev_at, ts) / 60.0 AS gap_min,
           CASE WHEN substr(region, 1, 2) <> substr(prev_region, 1, 2) THEN 'province' ELSE 'city' END AS distance,
           CASE WHEN substr(region, 1, 2) <> substr(prev_region, 1, 2)
                THEN coalesce(getvariable('province_hours'), 3) ELSE coalesce(getvariable('city_hours'), 1) END * 60 AS limit_min,
           coalesce(settlement_id, prev_sid) AS subject
    FROM ordered
    WHERE prev_region IS NOT NULL AND substr(region, 1, 4) <> substr(prev_region, 1, 4)
      AND date_diff('second', prev_at, ts) < 60 * 60 * CASE WHEN substr(region, 1, 2) <> substr(prev_region, 1, 2)
                THEN coalesce(getvariable('province_hours'), 3) ELSE coalesce(getvariable('city_hours'), 1) END
      AND coalesce(settlement_id, prev_sid) IS NOT NULL
),
best AS (
    SELECT *, count(*) OVER (PARTITION BY subject) AS n_pairs
    FROM hits
    QUALIFY row_number() OVER (PARTITION BY subject ORDER BY gap_min / limit_min, prev_at) = 1
),
scored AS (
    SELECT *, 0.6 + 0.35 * (1 - gap_min / limit_min) AS speed_part,
           CASE WHEN coalesce(cert_type, prev_cert, '') = '01' THEN 0.8 ELSE 1 END AS voucher_factor
    FROM best
)
SELECT b.subject AS subject_id,
       s.org_code,
       b.speed_part * b.voucher_factor AS score,
       s.fund_paid + s.account_paid AS amount_at_risk,
       CASE p.sex WHEN 1 THEN '男' ELSE '女' END || '性参保人' || b.person_id || '（' || date_sub('year', p.birth_date, b.ts::DATE) || '岁）' ||
       strftime(b.prev_at, '%Y-%m-%d %H:%M') || '在' || coalesce(pi.name, b.prev_org) || '（' || b.prev_region || '）' || b.prev_what || '，' ||
       round(b.gap_min)::INTEGER || '分钟后在' || coalesce(i.name, b.org_code) || '（' || b.region || '）' || b.what ||
       CASE b.distance WHEN 'province' THEN '，跨省' ELSE '，跨市' END || '距离不可能在此时间内到达' AS summary,
       json_object(
           'person', json_object('person_id', b.person_id, 'sex', CASE p.sex WHEN 1 THEN '男' ELSE '女' END,
                                 'age', date_sub('year', p.birth_date, b.ts::DATE)),
           'earlier', json_object('time', strftime(b.prev_at, '%Y-%m-%d %H:%M:%S'), 'what', b.prev_what, 'settlement_id', b.prev_sid,
                                  'org_code', b.prev_org, 'org_name', pi.name, 'region', b.prev_region, 'cert_type', b.prev_cert),
           'later', json_object('time', strftime(b.ts, '%Y-%m-%d %H:%M:%S'), 'what', b.what, 'settlement_id', b.settlement_id,
                                'org_code', b.org_code, 'org_name', i.name, 'region', b.region, 'cert_type', b.cert_type),
           'gap_minutes', round(b.gap_min, 1),
           'distance', CASE b.distance WHEN 'province' THEN '不同省份' ELSE '同省不同城市' END,
           'limit_minutes', b.limit_min,
           'visit', json_object('settlement_id', s.settlement_id, 'visit_type', s.visit_type, 'diagnosis_code', s.diagnosis_code,
                                'diagnosis_name', d.name, 'total_amount', s.total_amount::VARCHAR, 'emergency', s.emergency),
           'pairs_for_this_settlement', b.n_pairs,
           'why_this_settlement', CASE WHEN b.settlement_id IS NOT NULL THEN '时间在后的一次活动：参保人此前刚在另一地区有记录'
                                       ELSE '时间在后的刷卡无结算单，以时间在前的结算为对象' END
       ) AS facts,
       json_object('speed', b.speed_part, 'e_voucher_factor', b.voucher_factor) AS score_parts
FROM scored b
JOIN settlements s ON s.settlement_id = b.subject
JOIN persons p ON p.person_id = b.person_id
LEFT JOIN institutions i ON i.org_code = b.org_code
LEFT JOIN institutions pi ON pi.org_code = b.prev_org
LEFT JOIN ref_diagnosis d ON d.code = s.diagnosis_code
