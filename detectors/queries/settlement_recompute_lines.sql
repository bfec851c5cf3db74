-- The fee lines of the settlement recompute (settlement.recompute_diff,
-- wrong_kind, deductible_skipped, c_class_paid, cap_exceeded) as the
-- settlement engine reads them, and the engine's per-line rounding as SQL
-- macros. The class of a line is the treatment region's catalogue row for
-- (item_code, date) when there is one (line_class is the class written on
-- the line). Money in fen, quantities and prices in 1/10,000, shares in
-- 1/10,000. recompute_rounding is the rounding of every policy version
-- (settlement.PolicyVersions; open periods from 0001-01-01 to 9999-12-31),
-- written by the recompute. Temp objects of one connection; runs as is in
-- the DuckDB CLI.

CREATE OR REPLACE TEMP TABLE recompute_rounding (region VARCHAR, valid_from DATE, valid_to DATE, rounding INTEGER);

-- q + 1 when the quotient q of a division by d with remainder r rounds up
-- under settlement.Rounding mode (0 half up, 1 half even, 2 down), for a
-- non-negative dividend (settlement divRound).
CREATE OR REPLACE TEMP MACRO recompute_round(q, r, d, mode) AS
    q + CASE
        WHEN mode = 0 AND 2 * r >= d THEN 1
        WHEN mode = 1 AND (2 * r > d OR (2 * r = d AND q % 2 = 1)) THEN 1
        ELSE 0 END;

-- x × s / 10,000 rounded to the fen, symmetric in the sign of x (settlement share).
CREATE OR REPLACE TEMP MACRO recompute_share(x, s, mode) AS
    sign(x) * recompute_round(abs(x) * s // 10000, abs(x) * s % 10000, 10000, mode);

-- The part of a line above its price ceiling (settlement overCeiling):
-- (price − ceiling) × |qty| in fen (over_n: in 1/10^8 yuan, NULL when the
-- line is not above its ceiling), rounded, at most the line amount, with
-- the amount's sign.
CREATE OR REPLACE TEMP MACRO recompute_over(over_n, amount, mode) AS
    CASE WHEN over_n IS NULL THEN 0
         ELSE sign(amount) * least(abs(amount), recompute_round(over_n // 1000000, over_n % 1000000, 1000000, mode)) END;

-- The lines of the fee-line table named fee (fee_items, or a table of some
-- of its rows and the columns read here): a table macro rather than a view,
-- so that the lines of a few claims are read without joining every fee line
-- to the catalogue first.
CREATE OR REPLACE TEMP MACRO recompute_lines(fee) AS TABLE
SELECT f.settlement_id, f.item_id, f.item_code, f.item_name,
       f.catalog_class AS line_class, coalesce(k.catalog_class, f.catalog_class) AS class,
       coalesce((k.selfpay_ratio * 10000)::BIGINT, 0) AS selfpay,
       coalesce((k.price_ceiling * 10000)::BIGINT, 0) AS ceiling,
       coalesce((f.quantity * 10000)::BIGINT, 0) AS quantity, coalesce((f.unit_price * 10000)::BIGINT, 0) AS unit_price,
       coalesce((f.amount * 100)::BIGINT, 0) AS amount,
       CASE WHEN k.price_ceiling > 0 AND f.unit_price > k.price_ceiling AND f.quantity <> 0 AND f.amount <> 0
            THEN ((f.unit_price - k.price_ceiling) * 10000)::HUGEINT * abs((f.quantity * 10000)::BIGINT) END AS over_n
FROM query_table(fee) f
-- (comparisons only, no OR: the join stays a hash join)
LEFT JOIN catalog k ON k.item_code = f.item_code AND k.valid_from <= f.charged_at::DATE
                   AND coalesce(k.valid_to, DATE '9999-12-31') >= f.charged_at::DATE;
