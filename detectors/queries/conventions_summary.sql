-- The conventions learned from the loaded data (views of migrations 0013, 0023),
-- one row per convention and value: how many institutions use it and up to
-- 10 of them. Per institution: the swipe amount its card system reports;
-- the unit its drug quantities are billed in (piece 拆零 / box; mixed when
-- both; undetermined when none of its drugs is in the daily-dose table with
-- a pack of more than one piece); its
-- commonest restocking cadence, or no_stock_data when it bills drugs but
-- reports no purchase. Runs as is in the DuckDB CLI.
WITH swipe AS (
    SELECT 'swipe_amount' AS convention, convention AS value, org_code FROM conv_swipe_amount
),
unit AS (
    SELECT 'drug_quantity_unit' AS convention,
           CASE WHEN count(*) FILTER (WHERE qty_unit <> 'unknown' AND min_pack > 1) = 0 THEN 'undetermined'
                WHEN count(DISTINCT qty_unit) FILTER (WHERE qty_unit <> 'unknown' AND min_pack > 1) > 1 THEN 'mixed'
                ELSE any_value(qty_unit) FILTER (WHERE qty_unit <> 'unknown' AND min_pack > 1) END AS value,
           org_code
    FROM conv_drug_unit GROUP BY org_code
),
stock AS (
    SELECT 'restocking' AS convention, mode(cadence) AS value, org_code FROM conv_stock GROUP BY org_code
    UNION ALL
    SELECT 'restocking', 'no_stock_data', org_code
    FROM (SELECT DISTINCT org_code FROM conv_drug_unit) u
    WHERE org_code NOT IN (SELECT org_code FROM conv_stock)
),
allc AS (
    SELECT * FROM swipe UNION ALL SELECT * FROM unit UNION ALL SELECT * FROM stock
)
SELECT convention, value, count(*) AS institutions, list(org_code ORDER BY org_code)[1:10] AS examples
FROM allc GROUP BY convention, value ORDER BY convention, value
