-- The claims of the settlement recompute (settlement_recompute_claims.sql)
-- of one bucket of persons, the shards from $1 up to $2 (each person, with
-- all their claims, is in one shard), in person and settlement-time order,
-- for the running totals of each person's year. Times in epoch
-- microseconds. Runs as is in the DuckDB CLI once the parameters are
-- written in.
SELECT claim_id, person_id, org_code, org_name, org_level, visit_type,
       epoch_us(admitted_at) AS admitted_us, epoch_us(claim_date) AS claim_date_us, epoch_us(stay_end) AS settled_us,
       insured_region, treatment_region, insurance_type, retiree, balance0, emergency, reg_kind, reg_used, registration_id,
       total, fund, other_funds, fund_parts, account, cash, mode::BIGINT AS mode, lines_total, over, own, pre, own_w, pre_w,
       line_steps, mismatched, bad, bad_w, refunds_us
FROM recompute_claims
WHERE shard >= CAST($1 AS UBIGINT) AND shard < CAST($2 AS UBIGINT)
ORDER BY person_id, stay_end, stay_id
