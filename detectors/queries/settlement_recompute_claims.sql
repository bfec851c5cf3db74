-- The claims of the settlement recompute, one row per claim, with the sums
-- of its lines the settlement engine applies the policy to
-- (settlement.LineSums), both with the catalogue's classes and with the
-- classes written on the lines (suffix _w); the in-scope amount is what
-- the lines leave (total - over - own - pre) when every line has a class
-- A, B or C (else the claim is bad). The per-line over-ceiling and class B
-- shares are rounded line by line with the rounding (mode) of the insured
-- region's policy in force on the claim's date: the region's own version,
-- else its city's, else its province's (recompute_rounding; -1 when none).
-- One grouped pass over the lines (settlement_recompute_lines.sql, which
-- must run first).
--
-- A claim is a settlement, or an inpatient stay settled in parts (中途结算,
-- the same visit id mdtrt_id): recompute_parts gives each settlement its
-- claim and its place in it. The claim's money is the sum of its
-- settlements, its subject (claim_id) the settlement that closes the stay,
-- its other facts those of the first settlement; stay_end orders a
-- person's claims. A settlement its refunds reverse in full
-- (reversed_settlements) is left out, lines and money. The registration
-- kind is the one the settlement names when it covers the visit, else the
-- person's earliest covering registration (settlement.CoversStay: the
-- treatment area covers the institution's region, filed no later than the
-- settlement at discharge, not expired before admission). fund is 统筹
-- (hifp_pay) when the settlement gives its fund parts (other_funds the
-- rest), else fund_paid. recompute_refunds has the times of the refund
-- swipes of a claim's subject settlement, in epoch microseconds; the
-- stream joins them, and the institution's name and level, to the claims
-- (settlement_recompute_stream.sql). bad (bad_w) marks a claim with a line
-- the engine rejects. Runs as is in the DuckDB CLI.
CREATE OR REPLACE TEMP TABLE recompute_parts AS
-- (NOT MATERIALIZED: each part below reads the settlements of its visit
-- types; materialising vis for both cost more at 1 M persons, 6.2 s
-- against 4.4 s under 1 GB)
WITH vis AS NOT MATERIALIZED (
    SELECT s.settlement_id, s.person_id, s.org_code, s.visit_type, s.admitted_at, s.settled_at, s.insured_region,
           coalesce(s.treatment_region, i.region_code) AS treatment_region, coalesce(s.emergency, false) AS emergency,
           s.registration_id, s.total_amount, s.fund_paid, s.hifp_pay, s.account_paid,
           s.cash_paid, i.region_code AS org_region, p.insurance_type, coalesce(p.retiree, false) AS retiree,
           coalesce((p.account_balance * 100)::BIGINT, 0) AS balance0,
           CASE WHEN s.visit_type = 'inpatient' THEN coalesce(s.mdtrt_id, s.settlement_id) ELSE s.settlement_id END AS stay_id,
           s.rowid AS row_no
    FROM settlements s
    JOIN persons p USING (person_id)
    JOIN institutions i USING (org_code)
    WHERE s.settlement_id NOT IN (SELECT settlement_id FROM reversed_settlements)
),
-- An outpatient or pharmacy settlement is a claim of its own; only
-- inpatient settlements need the windows that gather a stay's parts and
-- sum their money. claim_no is an integer key of the claim to group lines
-- by.
parts AS (
    SELECT *, settlement_id AS claim_id, settled_at AS stay_end, settled_at AS claim_date, 1 AS part_no,
           row_no AS claim_no,
           (total_amount * 100)::BIGINT AS total, (coalesce(hifp_pay, fund_paid) * 100)::BIGINT AS fund,
           coalesce(((fund_paid - hifp_pay) * 100)::BIGINT, 0) AS other_funds, hifp_pay IS NOT NULL AS fund_parts,
           (account_paid * 100)::BIGINT AS account, (cash_paid * 100)::BIGINT AS cash
    FROM vis
    WHERE visit_type <> 'inpatient'
    UNION ALL BY NAME
    SELECT *,
           last_value(settlement_id) OVER claim AS claim_id,
           max(settled_at) OVER claim AS stay_end,
           min(settled_at) OVER claim AS claim_date,
           row_number() OVER claim AS part_no,
           min(row_no) OVER claim AS claim_no,
           (sum((total_amount * 100)::BIGINT) OVER claim)::BIGINT AS total,
           (sum((coalesce(hifp_pay, fund_paid) * 100)::BIGINT) OVER claim)::BIGINT AS fund,
           coalesce(sum(((fund_paid - hifp_pay) * 100)::BIGINT) OVER claim, 0)::BIGINT AS other_funds,
           bool_or(hifp_pay IS NOT NULL) OVER claim AS fund_parts,
           (sum((account_paid * 100)::BIGINT) OVER claim)::BIGINT AS account,
           (sum((cash_paid * 100)::BIGINT) OVER claim)::BIGINT AS cash
    FROM vis
    WHERE visit_type = 'inpatient'
    WINDOW claim AS (PARTITION BY person_id, stay_id ORDER BY settled_at, settlement_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT (hash(p.person_id) % 4096)::USMALLINT AS shard, p.* EXCLUDE (total_amount, fund_paid, hifp_pay, account_paid, cash_paid),
       coalesce(r1.rounding, r2.rounding, r3.rounding, -1) AS mode
FROM parts p
LEFT JOIN recompute_rounding r1 ON r1.region = p.insured_region
     AND r1.valid_from <= p.claim_date::DATE AND r1.valid_to >= p.claim_date::DATE
LEFT JOIN recompute_rounding r2 ON r2.region = substr(p.insured_region, 1, 4) || '00'
     AND r2.valid_from <= p.claim_date::DATE AND r2.valid_to >= p.claim_date::DATE
LEFT JOIN recompute_rounding r3 ON r3.region = substr(p.insured_region, 1, 2) || '0000'
     AND r3.valid_from <= p.claim_date::DATE AND r3.valid_to >= p.claim_date::DATE
ORDER BY shard;

-- The line sums per claim, a statement of their own: inside the claims
-- statement, this aggregate over every fee line and the claims' joins held
-- more memory at once than DuckDB's 2 GB limit at 1 M persons. The lines
-- join their claim on one BIGINT that packs the claim's shard (bits 50-61),
-- its rounding mode + 1 (bits 48-49) and its claim_no (a settlement rowid,
-- below 2^48), and group on it: with the three as columns the join's table
-- (8.66 M settlements at 2.5 M persons) did not fit beside the aggregate
-- under the scan's 1 GB and was partitioned to disk (30 s against 21 s for
-- this statement at 2.5 M persons; 7.1-9.5 s and 7.2-7.3 s at 1 M). The
-- settlement is found by settlement_key (in a scan the id's hash:
-- migration 0023), for the same reason at 10 M settlements.
CREATE OR REPLACE TEMP TABLE recompute_claim_sums AS
WITH line AS (
    -- A line above 10 billion yuan is rejected (bad); its amount is not summed.
    -- c and lc are the catalogue's and the written class as 1 (A), 2 (B),
    -- 3 (C) or 0 (any other; both columns are NOT NULL): the filters and
    -- tests below compare integers, not strings (the statement 0.74-0.81 →
    -- 0.64-0.70 s at 100 k persons, 28.4-28.9 → 26.3-27.8 s at 10.0 M
    -- settlements, the same rows).
    SELECT ckey, mode, line_class, class, selfpay, ceiling, unit_price,
           CASE class WHEN 'A' THEN 1 WHEN 'B' THEN 2 WHEN 'C' THEN 3 ELSE 0 END AS c,
           CASE line_class WHEN 'A' THEN 1 WHEN 'B' THEN 2 WHEN 'C' THEN 3 ELSE 0 END AS lc,
           CASE WHEN abs(amount) > 1000000000000 THEN 0 ELSE amount END AS amount,
           CASE WHEN class = 'B' AND selfpay <> 0 THEN selfpay ELSE 1000 END AS selfpay_w,
           abs(amount) > 1000000000000 OR ceiling < 0 AS bad_any,
           recompute_over(over_n, amount, mode)::BIGINT AS o
    FROM (SELECT l.*, p.ckey, (p.ckey >> 48) % 4 - 1 AS mode
          FROM recompute_lines('fee_items') l
          JOIN (SELECT settlement_key(settlement_id) AS skey, (shard::BIGINT << 50) | ((mode + 1)::BIGINT << 48) | claim_no AS ckey
                FROM recompute_parts) p
            ON p.skey = settlement_key(l.settlement_id))
),
lines AS (
    SELECT ckey & 281474976710655 AS claim_no, (ckey >> 50)::USMALLINT AS shard, sum(amount)::BIGINT AS lines_total,
           sum(o)::BIGINT AS over,
           sum(amount - o) FILTER (c = 3)::BIGINT AS own,
           sum(recompute_share(amount - o, selfpay, mode)) FILTER (c = 2)::BIGINT AS pre,
           sum(amount - o) FILTER (lc = 3)::BIGINT AS own_w,
           sum(recompute_share(amount - o, selfpay_w, mode)) FILTER (lc = 2)::BIGINT AS pre_w,
           count(*) FILTER (c = 2) + count(*) FILTER (ceiling > 0 AND unit_price > ceiling) AS line_steps,
           count(*) FILTER (c <> lc OR (c = 0 AND line_class <> class)) AS mismatched,
           bool_or(bad_any OR c = 0 OR (c = 2 AND (selfpay < 0 OR selfpay > 10000))) AS bad,
           bool_or(bad_any OR lc = 0) AS bad_w
    FROM line
    GROUP BY ckey
)
SELECT * FROM lines ORDER BY shard;

-- The registration covering each claim and the claim's refunds, each a
-- statement of its own as well: joined in one statement with the claims,
-- they held more than 1 GB at once at 1 M persons. The covering
-- registration is the first of a claim's candidates by a window, not by
-- arg_min over a struct: at 2.5 M persons the grouped arg_min states (one
-- per claim) ran out of the 2 GB limit, where the window spills.
CREATE OR REPLACE TEMP TABLE recompute_cov AS
SELECT claim_no, shard, reg_kind, reg_used FROM (
    SELECT v.claim_no, v.shard, r.kind AS reg_kind, r.registration_id AS reg_used,
           row_number() OVER (PARTITION BY v.claim_no
                              ORDER BY r.registration_id IS DISTINCT FROM v.registration_id, r.valid_from, r.registration_id) AS nth
    FROM recompute_parts v
    JOIN registrations r ON r.person_id = v.person_id
    WHERE v.part_no = 1
      AND (r.treatment_region = v.org_region
           OR (r.treatment_region LIKE '__0000' AND substr(r.treatment_region, 1, 2) = substr(v.org_region, 1, 2))
           OR (r.treatment_region LIKE '____00' AND substr(r.treatment_region, 1, 4) = substr(v.org_region, 1, 4)))
      AND r.valid_from <= v.settled_at::DATE
      AND (r.valid_to IS NULL OR r.valid_to >= v.admitted_at::DATE))
WHERE nth = 1
ORDER BY shard;

CREATE OR REPLACE TEMP TABLE recompute_refunds AS
SELECT settlement_id AS claim_id, list(epoch_us(swiped_at) ORDER BY swiped_at) AS refunds_us
FROM card_swipes
WHERE kind = 'refund' AND settlement_id IS NOT NULL
GROUP BY settlement_id;

-- The claims of the persons in the shards from lo up to hi, one row each
-- with all their facts: the claim's first settlement in recompute_parts
-- with the claim's line sums and covering registration. The three tables
-- carry the person's shard (a hash of the person, 0 to 4095) and are
-- stored in shard order, so that each stream bucket reads its range of
-- shards by skipping the row groups of the others; the line sums are
-- stored as BIGINT to keep the rows the sort writes narrow. The refunds
-- (few claims have any) and the institution's name and level are left to
-- the stream (settlement_recompute_stream.sql). Storing the joined wide
-- claims in shard order instead cost more, the sort of the wide rows most
-- (seconds under 1 GB: parts, line sums, registrations, stored claims,
-- stream):
--   1 M persons (14 buckets):   2.3 + 7.3 + 1.7 + 7.1 + 4.7 = 23.1;
--                               here 3.7-4.3 + 7.1 + 2.0-2.3 + 4.7-5.2 = 17.8-19.1
--   2.5 M persons (35 buckets): 6.0 + 21.7 + 5.4 + 26.9 + 12.4 = 72.4;
--                               here 10.5 + 26.8 + 6.3 + 13.0 = 56.6
CREATE OR REPLACE TEMP MACRO recompute_claims(lo, hi) AS TABLE
SELECT v.claim_id, v.person_id, v.stay_id, v.stay_end, v.settled_at AS claim_date, v.admitted_at, v.org_code,
       v.visit_type, v.insured_region, v.treatment_region, v.insurance_type, v.retiree, v.balance0, v.emergency,
       coalesce(c.reg_kind, '') AS reg_kind, coalesce(c.reg_used, '') AS reg_used,
       coalesce(v.registration_id, '') AS registration_id,
       v.total, v.fund, v.other_funds, v.fund_parts, v.account, v.cash,
       v.mode, coalesce(l.lines_total, 0) AS lines_total, coalesce(l.over, 0) AS over,
       coalesce(l.own, 0) AS own, coalesce(l.pre, 0) AS pre, coalesce(l.own_w, 0) AS own_w, coalesce(l.pre_w, 0) AS pre_w,
       coalesce(l.line_steps, 0) AS line_steps, coalesce(l.mismatched, 0) AS mismatched,
       coalesce(l.bad, false) AS bad, coalesce(l.bad_w, false) AS bad_w
FROM recompute_parts v
LEFT JOIN (SELECT * FROM recompute_claim_sums WHERE shard >= lo AND shard < hi) l USING (claim_no)
LEFT JOIN (SELECT * FROM recompute_cov WHERE shard >= lo AND shard < hi) c USING (claim_no)
WHERE v.part_no = 1 AND v.shard >= lo AND v.shard < hi;
