-- The hospitals of the districts with settlements in [$from, $to): one
-- inspection pack each.
SELECT i.org_code
FROM institutions i
WHERE i.kind = 'hospital'
  AND ($districts = '' OR list_contains(string_split($districts, ','), i.region_code))
  AND EXISTS (SELECT 1 FROM settlements s WHERE s.org_code = i.org_code
              AND s.settled_at >= $from::DATE AND s.settled_at < $to::DATE)
ORDER BY i.org_code;
