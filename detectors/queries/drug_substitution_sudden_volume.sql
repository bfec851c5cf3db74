-- drug_substitution.sudden_volume features: billed quantity per org, drug
-- and month, with the insured amount, for the change ratio against the
-- trailing median computed in Go. Only pharmacies and clinics, whose sales
-- are dispensing (DOMAIN §7.3, the 黄陂 case): a hospital's drug volume
-- follows its inpatients and swings with a few long stays. Runs as is in
-- the DuckDB CLI.
SELECT s.org_code, coalesce(i.name, '') AS org_name, coalesce(i.kind, '') AS org_kind, f.item_code, any_value(f.item_name) AS item_name,
       strftime(date_trunc('month', f.charged_at), '%Y-%m') AS month,
       sum(f.quantity)::DOUBLE AS qty, count(DISTINCT s.person_id) AS persons,
       count(DISTINCT s.person_id) FILTER (WHERE s.insured_region <> s.treatment_region) AS non_local,
       sum((f.amount * (s.fund_paid + s.account_paid) / s.total_amount)::DECIMAL(18,4))::DECIMAL(18,2)::VARCHAR AS insured
FROM fee_items f
JOIN settlements s ON s.settlement_id = f.settlement_id
LEFT JOIN institutions i ON i.org_code = s.org_code
WHERE f.category = 'drug' AND s.total_amount > 0 AND i.kind IN ('pharmacy', 'clinic')
GROUP BY s.org_code, i.name, i.kind, f.item_code, month
ORDER BY s.org_code, f.item_code, month
