-- The claims of the settlement recompute, one row per claim, with the sums
-- of its lines the settlement engine applies the policy to
-- (settlement.LineSums), under each of the three rounding modes (suffix 0
-- half up, 1 half even, 2 down: the per-line over-ceiling and class B
-- shares are rounded line by line), both with the catalogue's classes and
-- with the classes written on the lines (suffix _w). One grouped pass over
-- the lines (settlement_recompute_lines.sql, which must run first).
--
-- A claim is a settlement, or an inpatient stay settled in parts (中途结算,
-- the same visit id mdtrt_id): its money is the sum of the stay's
-- settlements, its subject (claim_id) the settlement that closes the stay,
-- its other facts those of the first settlement. stay_end orders a
-- person's claims. A settlement its refunds reverse in full
-- (reversed_settlements) is left out, lines and money. The registration
-- kind is the one the settlement names when it covers the visit, else the
-- person's earliest covering registration (settlement.CoversStay: the
-- treatment area covers the institution's region, filed no later than the
-- settlement at discharge, not expired before admission). fund is 统筹
-- (hifp_pay) when the settlement gives its fund parts (other_funds the
-- rest), else fund_paid. refunds_us are the times of the refund swipes of
-- the subject settlement; times are epoch microseconds. bad (bad_w) marks
-- a claim with a line the engine rejects. Runs as is in the DuckDB CLI.
CREATE OR REPLACE TEMP TABLE recompute_claims AS
WITH vis AS (
    SELECT s.*, i.region_code AS org_region, i.level AS org_level, i.name AS org_name,
           p.insurance_type, coalesce(p.retiree, false) AS retiree, p.account_balance,
           CASE WHEN s.visit_type = 'inpatient' THEN coalesce(s.mdtrt_id, s.settlement_id) ELSE s.settlement_id END AS stay_id
    FROM settlements s
    JOIN persons p USING (person_id)
    JOIN institutions i USING (org_code)
    WHERE s.settlement_id NOT IN (SELECT settlement_id FROM reversed_settlements)
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
),
line AS (
    -- A line above 10 billion yuan is rejected (bad); its amount is not summed.
    SELECT settlement_id, line_class, class, selfpay, ceiling, unit_price,
           CASE WHEN abs(amount) > 1000000000000 THEN 0 ELSE amount END AS amount,
           CASE WHEN class = 'B' AND selfpay <> 0 THEN selfpay ELSE 1000 END AS selfpay_w,
           abs(amount) > 1000000000000 OR ceiling < 0 AS bad_any,
           recompute_over(unit_price, ceiling, quantity, amount, 0)::BIGINT AS o0,
           recompute_over(unit_price, ceiling, quantity, amount, 1)::BIGINT AS o1,
           recompute_over(unit_price, ceiling, quantity, amount, 2)::BIGINT AS o2
    FROM recompute_lines
),
per_settlement AS (
    SELECT settlement_id, count(*) AS n_lines, sum(amount) AS lines_total,
           sum(o0) AS over0, sum(o1) AS over1, sum(o2) AS over2,
           sum(amount - o0) FILTER (class = 'C') AS own0, sum(amount - o1) FILTER (class = 'C') AS own1,
           sum(amount - o2) FILTER (class = 'C') AS own2,
           sum(recompute_share(amount - o0, selfpay, 0)) FILTER (class = 'B') AS pre0,
           sum(recompute_share(amount - o1, selfpay, 1)) FILTER (class = 'B') AS pre1,
           sum(recompute_share(amount - o2, selfpay, 2)) FILTER (class = 'B') AS pre2,
           sum(amount - o0) FILTER (class IN ('A', 'B')) AS ab0, sum(amount - o1) FILTER (class IN ('A', 'B')) AS ab1,
           sum(amount - o2) FILTER (class IN ('A', 'B')) AS ab2,
           sum(amount - o0) FILTER (line_class = 'C') AS own_w0, sum(amount - o1) FILTER (line_class = 'C') AS own_w1,
           sum(amount - o2) FILTER (line_class = 'C') AS own_w2,
           sum(recompute_share(amount - o0, selfpay_w, 0)) FILTER (line_class = 'B') AS pre_w0,
           sum(recompute_share(amount - o1, selfpay_w, 1)) FILTER (line_class = 'B') AS pre_w1,
           sum(recompute_share(amount - o2, selfpay_w, 2)) FILTER (line_class = 'B') AS pre_w2,
           sum(amount - o0) FILTER (line_class IN ('A', 'B')) AS ab_w0, sum(amount - o1) FILTER (line_class IN ('A', 'B')) AS ab_w1,
           sum(amount - o2) FILTER (line_class IN ('A', 'B')) AS ab_w2,
           count(*) FILTER (class = 'B') + count(*) FILTER (ceiling > 0 AND unit_price > ceiling) AS line_steps,
           count(*) FILTER (line_class IS DISTINCT FROM class) AS mismatched,
           bool_or(bad_any OR class NOT IN ('A', 'B', 'C') OR (class = 'B' AND (selfpay < 0 OR selfpay > 10000))) AS bad,
           bool_or(bad_any OR line_class NOT IN ('A', 'B', 'C')) AS bad_w
    FROM line
    GROUP BY settlement_id
),
refunds AS (
    SELECT settlement_id, list(epoch_us(swiped_at) ORDER BY swiped_at) AS refunds_us
    FROM card_swipes
    WHERE kind = 'refund' AND settlement_id IS NOT NULL
    GROUP BY settlement_id
),
claims AS (
    SELECT v.person_id, v.stay_id,
           arg_max(v.settlement_id, (v.settled_at, v.settlement_id)) AS claim_id,
           max(v.settled_at) AS stay_end,
           list(v.settlement_id ORDER BY v.settled_at, v.settlement_id) AS members,
           arg_min(v.settled_at, (v.settled_at, v.settlement_id)) AS claim_date,
           arg_min(v.admitted_at, (v.settled_at, v.settlement_id)) AS admitted_at,
           arg_min(v.org_code, (v.settled_at, v.settlement_id)) AS org_code,
           arg_min(v.org_name, (v.settled_at, v.settlement_id)) AS org_name,
           arg_min(v.org_level::BIGINT, (v.settled_at, v.settlement_id)) AS org_level,
           arg_min(v.visit_type, (v.settled_at, v.settlement_id)) AS visit_type,
           arg_min(v.insured_region, (v.settled_at, v.settlement_id)) AS insured_region,
           arg_min(coalesce(v.treatment_region, v.org_region), (v.settled_at, v.settlement_id)) AS treatment_region,
           arg_min(v.insurance_type, (v.settled_at, v.settlement_id)) AS insurance_type,
           arg_min(v.retiree, (v.settled_at, v.settlement_id)) AS retiree,
           arg_min(coalesce((v.account_balance * 100)::BIGINT, 0), (v.settled_at, v.settlement_id)) AS balance0,
           arg_min(coalesce(v.emergency, false), (v.settled_at, v.settlement_id)) AS emergency,
           arg_min(coalesce(c.reg_kind, ''), (v.settled_at, v.settlement_id)) AS reg_kind,
           arg_min(coalesce(c.reg_used, ''), (v.settled_at, v.settlement_id)) AS reg_used,
           arg_min(coalesce(v.registration_id, ''), (v.settled_at, v.settlement_id)) AS registration_id,
           sum((v.total_amount * 100)::BIGINT)::BIGINT AS total,
           sum((coalesce(v.hifp_pay, v.fund_paid) * 100)::BIGINT)::BIGINT AS fund,
           coalesce(sum(((v.fund_paid - v.hifp_pay) * 100)::BIGINT), 0)::BIGINT AS other_funds,
           bool_or(v.hifp_pay IS NOT NULL) AS fund_parts,
           sum((v.account_paid * 100)::BIGINT)::BIGINT AS account, sum((v.cash_paid * 100)::BIGINT)::BIGINT AS cash,
           coalesce(sum(l.n_lines), 0)::BIGINT AS n_lines, coalesce(sum(l.lines_total), 0)::BIGINT AS lines_total,
           coalesce(sum(l.over0), 0)::BIGINT AS over0, coalesce(sum(l.over1), 0)::BIGINT AS over1, coalesce(sum(l.over2), 0)::BIGINT AS over2,
           coalesce(sum(l.own0), 0)::BIGINT AS own0, coalesce(sum(l.own1), 0)::BIGINT AS own1, coalesce(sum(l.own2), 0)::BIGINT AS own2,
           coalesce(sum(l.pre0), 0)::BIGINT AS pre0, coalesce(sum(l.pre1), 0)::BIGINT AS pre1, coalesce(sum(l.pre2), 0)::BIGINT AS pre2,
           coalesce(sum(l.ab0), 0)::BIGINT AS ab0, coalesce(sum(l.ab1), 0)::BIGINT AS ab1, coalesce(sum(l.ab2), 0)::BIGINT AS ab2,
           coalesce(sum(l.own_w0), 0)::BIGINT AS own_w0, coalesce(sum(l.own_w1), 0)::BIGINT AS own_w1, coalesce(sum(l.own_w2), 0)::BIGINT AS own_w2,
           coalesce(sum(l.pre_w0), 0)::BIGINT AS pre_w0, coalesce(sum(l.pre_w1), 0)::BIGINT AS pre_w1, coalesce(sum(l.pre_w2), 0)::BIGINT AS pre_w2,
           coalesce(sum(l.ab_w0), 0)::BIGINT AS ab_w0, coalesce(sum(l.ab_w1), 0)::BIGINT AS ab_w1, coalesce(sum(l.ab_w2), 0)::BIGINT AS ab_w2,
           coalesce(sum(l.line_steps), 0)::BIGINT AS line_steps, coalesce(sum(l.mismatched), 0)::BIGINT AS mismatched,
           coalesce(bool_or(l.bad), false) AS bad, coalesce(bool_or(l.bad_w), false) AS bad_w
    FROM vis v
    LEFT JOIN cov c USING (settlement_id)
    LEFT JOIN per_settlement l USING (settlement_id)
    GROUP BY v.person_id, v.stay_id
)
SELECT c.*, coalesce(r.refunds_us, []) AS refunds_us
FROM claims c
LEFT JOIN refunds r ON r.settlement_id = c.claim_id;
