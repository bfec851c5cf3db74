-- Cases in scope with the panel's comments: the cases carrying an open flag
-- of the institution ($org, '' for all) counted in [$from, $to).
SELECT c.case_id, coalesce(c.org_code, ''), coalesce(i.name, ''), c.families, c.state, c.route,
       c.amount_at_risk::VARCHAR, coalesce(c.verdict, ''), coalesce(c.violation_amount::VARCHAR, ''),
       c.recovered::VARCHAR, strftime(c.opened_at + INTERVAL 8 HOUR, '%Y-%m-%d'), -- stored in UTC, shown as the Beijing date
       coalesce((SELECT string_agg(a.comment, ' | ' ORDER BY a.round, a.expert_id) FROM assignments a
                 WHERE a.case_id = c.case_id AND a.comment IS NOT NULL AND a.comment <> ''), '')
FROM report_cases($districts) c
LEFT JOIN institutions i ON i.org_code = c.org_code
WHERE c.case_id IN (SELECT cf.case_id FROM case_flags cf JOIN report_flags($districts) f USING (flag_id)
                    WHERE ($org = '' OR f.org_code = $org) AND f.flagged_on >= $from::DATE AND f.flagged_on < $to::DATE)
ORDER BY c.priority DESC, c.case_id;
