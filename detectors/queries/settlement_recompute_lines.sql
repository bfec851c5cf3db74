-- The fee lines of the settlement recompute (settlement.recompute_diff,
-- wrong_kind, deductible_skipped, c_class_paid, cap_exceeded) as the
-- settlement engine reads them, and the engine's per-line rounding as SQL
-- macros. The class of a line is the treatment region's catalogue row for
-- (item_code, date) when there is one (line_class is the class written on
-- the line). Money in fen, quantities and prices in 1/10,000, shares in
-- 1/10,000. Temp objects of one connection; runs as is in the DuckDB CLI.

-- n / d rounded as settlement.Rounding mode (0 half up, 1 half even,
-- 2 down) for n >= 0, d > 0 (settlement divRound).
CREATE OR REPLACE TEMP MACRO recompute_div(n, d, mode) AS
    n // d + CASE
        WHEN mode = 0 AND 2 * (n % d) >= d THEN 1
        WHEN mode = 1 AND (2 * (n % d) > d OR (2 * (n % d) = d AND (n // d) % 2 = 1)) THEN 1
        ELSE 0 END;

-- x × s / 10,000 rounded to the fen, symmetric in the sign of x (settlement share).
CREATE OR REPLACE TEMP MACRO recompute_share(x, s, mode) AS
    sign(x) * recompute_div(abs(x) * s, 10000, mode);

-- The part of a line above its price ceiling: (price − ceiling) × |qty| in
-- fen, at most the line amount, with its sign (settlement overCeiling).
CREATE OR REPLACE TEMP MACRO recompute_over(price, ceiling, qty, amount, mode) AS
    CASE WHEN ceiling = 0 OR price <= ceiling OR qty = 0 OR amount = 0 THEN 0
         ELSE sign(amount) * least(abs(amount)::HUGEINT,
                                   recompute_div((price - ceiling)::HUGEINT * abs(qty), 1000000, mode)) END;

CREATE OR REPLACE TEMP VIEW recompute_lines AS
SELECT f.settlement_id, f.item_id, f.item_code, f.item_name,
       f.catalog_class AS line_class, coalesce(k.catalog_class, f.catalog_class) AS class,
       coalesce((k.selfpay_ratio * 10000)::BIGINT, 0) AS selfpay,
       coalesce((k.price_ceiling * 10000)::BIGINT, 0) AS ceiling,
       coalesce((f.quantity * 10000)::BIGINT, 0) AS quantity, coalesce((f.unit_price * 10000)::BIGINT, 0) AS unit_price,
       coalesce((f.amount * 100)::BIGINT, 0) AS amount
FROM fee_items f
LEFT JOIN catalog k ON k.item_code = f.item_code AND k.valid_from <= f.charged_at::DATE
                   AND (k.valid_to IS NULL OR k.valid_to >= f.charged_at::DATE);
