-- ghost_bed.hospital_rate (features): per hospital, the share of short stays
-- (2–4 days; day surgery, chemotherapy and dialysis excepted), the share of
-- stays with an outpatient-manageable main diagnosis, and admissions per
-- approved bed, with the fund and account money of those stays. The Go side
-- compares each hospital with its peers (same kind, level and specialty) by
-- robust z-score. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.settlement_id, s.org_code, s.diagnosis_code, s.med_type, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
),
flagged AS (
    SELECT *,
           los BETWEEN 2 AND 4 AND coalesce(med_type, '') <> '28'
               AND NOT EXISTS (SELECT 1 FROM ref_diagnosis_list r WHERE r.list = 'scheduled_cycle' AND starts_with(coalesce(diagnosis_code, ''), r.prefix)) AS short_stay,
           EXISTS (SELECT 1 FROM ref_diagnosis_list r WHERE r.list = 'low_indication' AND starts_with(coalesce(diagnosis_code, ''), r.prefix)) AS low_indication
    FROM stays
)
SELECT i.org_code, i.name, i.kind, i.level, coalesce(i.specialty, '') AS specialty, coalesce(i.beds, 0) AS beds,
       count(*) AS stays,
       count(*) FILTER (WHERE f.short_stay) AS short_stays,
       count(*) FILTER (WHERE f.low_indication) AS low_indication_stays,
       sum(f.at_risk)::VARCHAR AS fund_and_account
FROM flagged f JOIN institutions i USING (org_code)
WHERE i.kind <> 'pharmacy'
GROUP BY i.org_code, i.name, i.kind, i.level, i.specialty, i.beds
HAVING count(*) >= coalesce(getvariable('min_stays'), 20)
ORDER BY i.org_code
