-- The fee lines of some claims of the settlement recompute ($1: their
-- claim_id, joined by the character U+001F), for the step-by-step
-- recompute of the claims that disagree: in claim order, then the order of
-- the claim's settlements and the item id. Needs
-- settlement_recompute_lines.sql and settlement_recompute_claims.sql first.
SELECT p.claim_id, l.item_id, l.item_code, l.item_name, l.line_class, l.class, l.selfpay, l.ceiling,
       l.quantity, l.unit_price, l.amount
FROM recompute_parts p
JOIN recompute_lines l USING (settlement_id)
WHERE p.claim_id IN (SELECT unnest(string_split($1, chr(31))))
ORDER BY p.claim_id, p.part_no, l.item_id
