-- Input of the settlement recompute (settlement.recompute_diff, wrong_kind,
-- deductible_skipped, c_class_paid, cap_exceeded): every settlement with its
-- fee lines, one row per line (a settlement without lines has one row with a
-- NULL item), ordered by person and settlement time so that the running
-- totals of the year (fund used, outpatient deductible met, n-th admission,
-- account balance) can be carried in one streaming pass. The registration
-- kind is the one the settlement names when it covers the visit, else the
-- person's earliest covering registration (settlement.CoversStay: the
-- treatment area covers the institution's region, filed no later than the
-- settlement at discharge, not expired before admission). The class of a
-- line is the treatment region's catalogue row for (item_code, date) when
-- there is one. Money in fen, quantities and prices in 1/10,000, shares in
-- 1/10,000. An inpatient stay settled in parts (中途结算, the same visit id
-- mdtrt_id) is one claim: its settlements are adjacent (stay_id, ordered by
-- the stay's last settlement) and the recompute sums their money. A
-- settlement its refunds reverse in full (settlement_refunds) is left out,
-- lines and money. hifp (统筹基金支出) is NULL unless the settlement gives
-- its fund parts; then 统筹 is what the recompute compares. Runs as is in the
-- DuckDB CLI.
WITH vis AS (
    SELECT s.*, i.region_code AS org_region, i.level AS org_level, i.name AS org_name,
           p.insurance_type, coalesce(p.retiree, false) AS retiree, p.account_balance,
           CASE WHEN s.visit_type = 'inpatient' THEN coalesce(s.mdtrt_id, s.settlement_id) ELSE s.settlement_id END AS stay_id
    FROM settlements s
    JOIN persons p USING (person_id)
    JOIN institutions i USING (org_code)
    -- One bucket of persons per query (recompute_buckets, recompute_bucket);
    -- by default one bucket holds everyone.
    WHERE hash(s.person_id) % CAST(coalesce(getvariable('recompute_buckets'), 1) AS UBIGINT)
          = CAST(coalesce(getvariable('recompute_bucket'), 0) AS UBIGINT)
      AND s.settlement_id NOT IN (SELECT settlement_id FROM reversed_settlements)
),
stays AS (
    SELECT *, max(settled_at) OVER (PARTITION BY person_id, stay_id) AS stay_end FROM vis
),
cov AS (
    SELECT v.settlement_id,
           arg_min(r.kind, (r.registration_id IS DISTINCT FROM v.registration_id, r.valid_from, r.registration_id)) AS reg_kind,
           arg_min(r.registration_id, (r.registration_id IS DISTINCT FROM v.registration_id, r.valid_from, r.registration_id)) AS reg_used
    FROM vis v
    JOIN registrations r ON r.person_id = v.person_id
    WHERE (r.treatment_region = v.org_region
           OR (r.treatment_region LIKE '__0000' AND substr(r.treatment_region, 1, 2) = substr(v.org_region, 1, 2))
           OR (r.treatment_region LIKE '____00' AND substr(r.treatment_region, 1, 4) = substr(v.org_region, 1, 4)))
      AND r.valid_from <= v.settled_at::DATE
      AND (r.valid_to IS NULL OR r.valid_to >= v.admitted_at::DATE)
    GROUP BY v.settlement_id
)
SELECT v.settlement_id, v.person_id, v.org_code, v.org_name, v.org_level, v.visit_type,
       v.admitted_at, v.settled_at, v.insured_region, coalesce(v.treatment_region, v.org_region) AS treatment_region,
       v.insurance_type, v.retiree, coalesce((v.account_balance * 100)::BIGINT, 0) AS balance0,
       coalesce(v.emergency, false) AS emergency, coalesce(c.reg_kind, '') AS reg_kind, coalesce(c.reg_used, '') AS reg_used,
       coalesce(v.registration_id, '') AS registration_id,
       (v.total_amount * 100)::BIGINT AS total, (v.fund_paid * 100)::BIGINT AS fund,
       (v.account_paid * 100)::BIGINT AS account, (v.cash_paid * 100)::BIGINT AS cash,
       coalesce(f.item_id, '') AS item_id, coalesce(f.item_code, '') AS item_code, coalesce(f.item_name, '') AS item_name,
       coalesce(f.catalog_class, '') AS line_class, coalesce(k.catalog_class, f.catalog_class, '') AS class,
       coalesce((k.selfpay_ratio * 10000)::INTEGER, 0) AS selfpay,
       coalesce((k.price_ceiling * 10000)::BIGINT, 0) AS ceiling,
       coalesce((f.quantity * 10000)::BIGINT, 0) AS quantity, coalesce((f.unit_price * 10000)::BIGINT, 0) AS unit_price,
       coalesce((f.amount * 100)::BIGINT, 0) AS amount, v.stay_id, (v.hifp_pay * 100)::BIGINT AS hifp
FROM stays v
LEFT JOIN cov c USING (settlement_id)
LEFT JOIN fee_items f ON f.settlement_id = v.settlement_id
LEFT JOIN catalog k ON k.item_code = f.item_code AND k.valid_from <= f.charged_at::DATE
                   AND (k.valid_to IS NULL OR k.valid_to >= f.charged_at::DATE)
ORDER BY v.person_id, v.stay_end, v.stay_id, v.settled_at, v.settlement_id, f.item_id
