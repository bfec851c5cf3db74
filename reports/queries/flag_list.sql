-- Every open flag in scope, one row each (the workbook's flags sheet);
-- $org = '' for every institution.
SELECT flag_id, family, detector, coalesce(org_code, ''), coalesce(org_name, ''), subject_type, subject_id,
       strftime(flagged_on, '%Y-%m-%d'), score, amount_at_risk::VARCHAR, coalesce(summary, '')
FROM report_flags($districts)
WHERE ($org = '' OR org_code = $org)
  AND flagged_on >= $from::DATE AND flagged_on < $to::DATE
ORDER BY amount_at_risk DESC, flag_id;
