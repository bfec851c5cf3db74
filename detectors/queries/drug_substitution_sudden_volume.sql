-- drug_substitution.sudden_volume features: billed quantity per org, drug
-- and month, with the insured amount, for the change ratio against the
-- trailing median computed in Go. Only pharmacies and clinics, whose sales
-- are dispensing (DOMAIN §7.3, the 黄陂 case): a hospital's drug volume
-- follows its inpatients and swings with a few long stays. The lines join
-- their settlement's narrow facts, the institution and the buyer as row
-- numbers, and group on them: with the ids and both regions as strings the
-- join's table (5.5 M settlements at 2.5 M persons) did not fit under the
-- scan's 1 GB and went to disk (13.9 s against 9.2 s for the rule at
-- 2.5 M; 3.0-3.3 s either way at 1 M; 0.27 against 0.32 s at 100 k). The
-- settlement is found by settlement_key (in a scan the id's hash: migration
-- 0023) for the same reason at 10.0 M settlements (12.3-13.7 s against
-- 10.3-10.5 s for the rule alone). Runs as is in the DuckDB CLI.
WITH per_person AS (   -- per institution, drug, month and buyer (the distinct counts are row counts one level up; names join after)
    SELECT s.org_no, f.item_code, date_trunc('month', f.charged_at) AS m, s.person_no,
           sum(f.quantity) AS qty, bool_or(s.non_local) AS non_local,
           sum((f.amount * s.insured / s.total_amount)::DECIMAL(18,4)) AS insured
    FROM fee_items f
    JOIN (SELECT settlement_key(s.settlement_id) AS skey, i.rowid AS org_no, p.rowid AS person_no, s.insured_region <> s.treatment_region AS non_local,
                 s.fund_paid + s.account_paid AS insured, s.total_amount
          FROM settlements s
          JOIN institutions i ON i.org_code = s.org_code AND i.kind IN ('pharmacy', 'clinic')
          JOIN persons p ON p.person_id = s.person_id
          WHERE s.total_amount > 0) s ON s.skey = settlement_key(f.settlement_id)
    WHERE f.category = 'drug'
    GROUP BY s.org_no, f.item_code, m, s.person_no
),
per_month AS (
    SELECT i.org_code, p.item_code, strftime(p.m, '%Y-%m') AS month,
           sum(p.qty)::DOUBLE AS qty, count(*) AS persons, count(*) FILTER (WHERE p.non_local) AS non_local,
           sum(p.insured)::DECIMAL(18,2)::VARCHAR AS insured
    FROM per_person p JOIN institutions i ON i.rowid = p.org_no
    GROUP BY i.org_code, p.item_code, month
),
-- the drug's name as billed that month, from the scan's monthly drug lines
-- (carried through every line, it cost a fifth of the rule's CPU at 1 M
-- persons: 8.4–9.0 → 6.4–6.9 s)
names AS (
    SELECT org_code, item_code, strftime(m, '%Y-%m') AS month, min(item_name) AS item_name
    FROM drug_lines_monthly WHERE pos_total GROUP BY ALL
)
SELECT m.org_code, coalesce(i.name, '') AS org_name, i.kind AS org_kind, m.item_code, n.item_name, m.month,
       m.qty, m.persons, m.non_local, m.insured
FROM per_month m JOIN institutions i USING (org_code) JOIN names n USING (org_code, item_code, month)
ORDER BY m.org_code, m.item_code, m.month
