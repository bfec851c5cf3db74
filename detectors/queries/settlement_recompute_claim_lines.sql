-- The fee lines of some claims of the settlement recompute ($1: their
-- claim_id, joined by the character U+001F), for the step-by-step
-- recompute of the claims that disagree: in claim order, then the order of
-- the claim's settlements and the item id. Needs
-- settlement_recompute_lines.sql and settlement_recompute_claims.sql first.
-- Two statements: the claims' fee lines first (the columns
-- recompute_lines reads), then those lines with their catalogue rows, so
-- that only the claims' lines are joined to the catalogue (joining every
-- fee line first took 3 s for 17 k claims at 1 M persons); the second needs
-- no filter of its own, since a settlement belongs to one claim.
CREATE OR REPLACE TEMP TABLE recompute_some_lines AS
SELECT f.settlement_id, f.item_id, f.item_code, f.item_name, f.catalog_class, f.quantity, f.unit_price, f.amount, f.charged_at
FROM fee_items f
WHERE f.settlement_id IN (SELECT settlement_id FROM recompute_parts
                          WHERE claim_id IN (SELECT unnest(string_split($1, chr(31)))));

SELECT p.claim_id, l.item_id, l.item_code, l.item_name, l.line_class, l.class, l.selfpay, l.ceiling,
       l.quantity, l.unit_price, l.amount
FROM recompute_parts p
JOIN recompute_lines('recompute_some_lines') l USING (settlement_id)
ORDER BY p.claim_id, p.part_no, l.item_id
