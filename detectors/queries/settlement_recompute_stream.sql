-- The claims of the settlement recompute (settlement_recompute_claims.sql)
-- of one bucket of persons, the shards from $1 up to $2 (each person, with
-- all their claims, is in one shard), in person and settlement-time order,
-- for the running totals of each person's year, with the institution's
-- name and level and the claim's refunds joined. Times in epoch
-- microseconds. Runs as is in the DuckDB CLI once the parameters are
-- written in.
SELECT c.claim_id, c.person_id, c.org_code, i.name AS org_name, i.level::BIGINT AS org_level, c.visit_type,
       epoch_us(c.admitted_at) AS admitted_us, epoch_us(c.claim_date) AS claim_date_us, epoch_us(c.stay_end) AS settled_us,
       c.insured_region, c.treatment_region, c.insurance_type, c.retiree, c.balance0, c.emergency, c.reg_kind, c.reg_used,
       c.registration_id, c.total, c.fund, c.other_funds, c.fund_parts, c.account, c.cash, c.mode::BIGINT AS mode,
       c.lines_total, c.over, c.own, c.pre, c.own_w, c.pre_w, c.line_steps, c.mismatched, c.bad, c.bad_w,
       coalesce(r.refunds_us, []) AS refunds_us
FROM recompute_claims(CAST($1 AS USMALLINT), CAST($2 AS USMALLINT)) c
JOIN institutions i ON i.org_code = c.org_code
LEFT JOIN recompute_refunds r USING (claim_id)
ORDER BY c.person_id, c.stay_end, c.stay_id
