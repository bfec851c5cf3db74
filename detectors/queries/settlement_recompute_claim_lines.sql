-- The fee lines of some claims of the settlement recompute ($1: their
-- claim_id, joined by the character U+001F), for the step-by-step
-- recompute of the claims that disagree: in claim order, then the order of
-- the claim's settlements and the item id. Needs settlement_recompute_lines.sql and
-- settlement_recompute_claims.sql first.
WITH m AS (
    SELECT claim_id, unnest(members) AS settlement_id, generate_subscripts(members, 1) AS member_no
    FROM recompute_claims
    WHERE claim_id IN (SELECT unnest(string_split($1, chr(31))))
)
SELECT m.claim_id, l.item_id, l.item_code, l.item_name, l.line_class, l.class, l.selfpay, l.ceiling,
       l.quantity, l.unit_price, l.amount
FROM m
JOIN recompute_lines l USING (settlement_id)
ORDER BY m.claim_id, m.member_no, l.item_id
