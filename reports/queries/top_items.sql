-- The institution's most charged items on its flagged settlements counted
-- in [$from, $to): lines, quantity and amount.
SELECT fi.item_code, any_value(fi.item_name), any_value(fi.category),
       count(*) AS lines,
       sum(fi.quantity)::VARCHAR AS quantity,
       sum(fi.amount)::VARCHAR AS amount
FROM fee_items fi
WHERE fi.settlement_id IN (SELECT subject_id FROM report_flags($districts)
                           WHERE subject_type = 'settlement' AND org_code = $org
                             AND flagged_on >= $from::DATE AND flagged_on < $to::DATE)
GROUP BY fi.item_code
ORDER BY sum(fi.amount) DESC, fi.item_code
LIMIT $limit;
