-- settlement.resident_account: a resident (居民医保) paid from a personal
-- account. Resident insurance has no personal account (DOMAIN §2, [F:S53]),
-- so the account payment is a settlement error or someone else's account.
-- Runs as is in the DuckDB CLI.
SELECT s.settlement_id AS subject_id,
       s.org_code,
       least(0.95, 0.8 + 0.15 * least(1, s.account_paid / greatest(s.total_amount, 1))) AS score,
       s.account_paid AS amount_at_risk,
       '居民医保参保人' || s.person_id || '（' || CASE p.sex WHEN 1 THEN '男' ELSE '女' END ||
       date_sub('year', p.birth_date, s.admitted_at::DATE) || '岁）在' || coalesce(i.name, s.org_code) ||
       '的结算由个人账户支付' || s.account_paid || '元，居民医保不设个人账户' AS summary,
       json_object(
           'person', json_object('person_id', s.person_id, 'insurance_type', '居民医保',
                                 'sex', CASE p.sex WHEN 1 THEN '男' ELSE '女' END, 'age', date_sub('year', p.birth_date, s.admitted_at::DATE)),
           'visit', json_object('settlement_id', s.settlement_id, 'visit_type', s.visit_type,
                                'admitted_at', strftime(s.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'total_amount', s.total_amount::VARCHAR, 'fund_paid', s.fund_paid::VARCHAR,
                                'account_paid', s.account_paid::VARCHAR, 'cash_paid', s.cash_paid::VARCHAR),
           'org', json_object('org_code', s.org_code, 'name', i.name, 'level', i.level)
       ) AS facts,
       json_object('account_share', 0.15 * least(1, s.account_paid / greatest(s.total_amount, 1))) AS score_parts
FROM settlements s
JOIN persons p USING (person_id)
LEFT JOIN institutions i USING (org_code)
WHERE p.insurance_type = 'resident' AND s.account_paid >= coalesce(getvariable('min_account'), 0.01)
