-- other.overprescribing: an outpatient or pharmacy settlement whose supply of
-- one drug exceeds 7 days (acute) or 84 days (chronic long prescription)
-- (超量开药, 处方管理办法第19条, 长期处方管理规范). Days of supply come from
-- the documented daily-dose table (ref_drug: WHO DDD, the piece's strength)
-- and the institution's learned quantity unit (conv_drug_unit: pieces, 拆零,
-- or boxes of the smallest common pack): days = pieces × strength ÷ DDD. A
-- drug outside the table has no days of supply and is never flagged. Chronic
-- comes from the drug (an ATC class of ref_chronic_atc) or from the person's
-- history (the same ATC substance obtained at least 3 times over at least
-- 60 days: a monthly repeat buyer). A class with a standard course longer
-- than 7 days (ref_drug.course_days, e.g. PPIs 8 weeks) may cover the course.
-- An acute or course supply is flagged above over_ratio × its limit: the
-- estimate rests on the WHO DDD (for many acute drugs below the prescribed
-- daily dose) and the smallest common pack; a chronic supply when, less one
-- billed unit (whole boxes rarely make exactly 12 weeks: 3 boxes of 30 are
-- 90 days), it still exceeds the 12 weeks a long prescription may cover. Runs as is in the DuckDB CLI.
WITH drug AS (   -- per settlement and drug, grouped on the settlement's rowid (an integer key hashes faster than its id) and the drug; only drugs with a daily dose somewhere
    SELECT s.rowid AS srow, f.item_code, sum(f.quantity) AS qty, sum(f.amount) AS amount
    FROM fee_items f JOIN settlements s USING (settlement_id)
    WHERE f.category = 'drug' AND f.quantity > 0 AND s.visit_type IN ('outpatient', 'pharmacy')
      AND f.item_code IN (SELECT item_code FROM conv_drug_unit WHERE generic IS NOT NULL)
    GROUP BY s.rowid, f.item_code
),
-- dosed keeps what the decision needs, keyed by the settlement's rowid; the
-- settlement's and the drug unit's other facts join the few flagged lines
-- at the end (a wide dosed took a fifth of the rule's time at 100 k persons
-- and grew past the scan's memory limit at 2.5 M). Only the candidates read
-- dosed: the history reads the drug lines again, of the candidates' persons
-- only. When the history read dosed too, DuckDB stored all of it (11.7 M
-- rows at 2.5 M persons) to read it twice: 17.2 s against 14.0 s for the
-- rule at 2.5 M, 4.5-4.8 s against 3.8-3.9 s at 1 M (100 k: 0.38 and
-- 0.40 s).
dosed AS (
    SELECT d.srow, s.person_id, s.org_code, s.admitted_at::DATE AS day, d.item_code, d.qty, d.amount,
           u.atc, u.chronic AS chronic_class, u.course_days, u.otc AND s.visit_type = 'pharmacy' AS otc_purchase,
           d.qty * u.pieces_per_unit * u.strength / u.ddd AS days_supply,
           u.pieces_per_unit * u.strength / u.ddd AS unit_days
    FROM drug d JOIN settlements s ON s.rowid = d.srow
    JOIN conv_drug_unit u ON u.org_code = s.org_code AND u.item_code = d.item_code
    WHERE u.generic IS NOT NULL
),
-- The lines that could be flagged whatever the person's history: above the
-- chronic limit (less one unit) when the drug's class is chronic or it is
-- an OTC purchase, else above the lower of the chronic and the acute or
-- course limit (the history decides which applies). Only their persons'
-- history of their ATC substances is read (at 1 M persons: 46,868 of
-- 4,671,609 dosed lines; the rule 11.3–12.8 → 9.4–9.8 s).
cand AS (
    SELECT * FROM dosed
    WHERE CASE WHEN chronic_class OR otc_purchase THEN days_supply - unit_days > coalesce(getvariable('max_days_chronic'), 84)
               ELSE days_supply > least(coalesce(getvariable('max_days_chronic'), 84) + unit_days,
                                        coalesce(course_days, getvariable('max_days_acute'), 7) * coalesce(getvariable('over_ratio'), 2)) END
),
history AS (   -- the days a person obtained an ATC substance (distinct days first: a grouped count(DISTINCT) is slower)
    SELECT person_id, atc, count(*) AS times, date_diff('day', min(day), max(day)) AS span_days
    FROM (SELECT DISTINCT s.person_id, u.atc, s.admitted_at::DATE AS day
          FROM fee_items f
          JOIN settlements s USING (settlement_id)
          JOIN conv_drug_unit u ON u.org_code = s.org_code AND u.item_code = f.item_code
          WHERE f.category = 'drug' AND f.quantity > 0 AND s.visit_type IN ('outpatient', 'pharmacy') AND u.generic IS NOT NULL
            AND s.person_id IN (SELECT person_id FROM cand)) d
    SEMI JOIN cand c USING (person_id, atc)
    GROUP BY person_id, atc
),
supply AS (
    SELECT d.*, h.times, h.span_days, h.times >= coalesce(getvariable('repeat_times'), 3) AND h.span_days >= coalesce(getvariable('repeat_span_days'), 60) AS repeat_buyer,
           d.chronic_class OR (h.times >= coalesce(getvariable('repeat_times'), 3) AND h.span_days >= coalesce(getvariable('repeat_span_days'), 60)) AS chronic
    FROM cand d JOIN history h USING (person_id, atc)
),
limited AS (
    SELECT *, CASE WHEN chronic OR otc_purchase THEN coalesce(getvariable('max_days_chronic'), 84)
                ELSE coalesce(course_days, getvariable('max_days_acute'), 7) END AS max_days
    FROM supply
),
hits AS (
    SELECT * FROM limited
    WHERE CASE WHEN chronic OR otc_purchase THEN days_supply - unit_days > max_days
               ELSE days_supply > max_days * coalesce(getvariable('over_ratio'), 2) END
),
-- the drug's name as billed, for the flagged lines only (carried through
-- every dosed line, it cost 2 s of the rule's 10–11 s CPU at 1 M persons)
named AS (
    SELECT h.srow, h.item_code, min(f.item_name) AS item_name
    FROM hits h JOIN settlements s ON s.rowid = h.srow
    JOIN fee_items f ON f.settlement_id = s.settlement_id AND f.item_code = h.item_code
    WHERE f.category = 'drug' AND f.quantity > 0
    GROUP BY h.srow, h.item_code
),
over AS (
    SELECT h.srow, max(h.days_supply / h.max_days) AS worst_ratio, sum(h.amount * (1 - h.max_days / h.days_supply)) AS excess_amount,
           list(json_object('item_code', h.item_code, 'item_name', n.item_name, 'quantity', h.qty::DOUBLE,
                            'generic_name', u.generic, 'atc', h.atc, 'quantity_unit', u.qty_unit, 'pieces_per_unit', u.pieces_per_unit,
                            'days_supply', round(h.days_supply::DOUBLE, 1), 'max_days', h.max_days, 'chronic', h.chronic,
                            'chronic_atc_class', h.chronic_class, 'repeat_buyer', h.repeat_buyer, 'otc_pharmacy_purchase', h.otc_purchase, 'times_obtained', h.times,
                            'amount', h.amount::VARCHAR)
                ORDER BY h.item_code) AS items
    FROM hits h JOIN named n USING (srow, item_code) JOIN conv_drug_unit u ON u.org_code = h.org_code AND u.item_code = h.item_code
    GROUP BY h.srow
)
SELECT l.settlement_id AS subject_id,
       l.org_code,
       least(0.9, 0.5 + 0.1 * (o.worst_ratio - 1)) AS score,
       CASE WHEN l.total_amount > 0 THEN least(l.at_risk, o.excess_amount * l.at_risk / l.total_amount) ELSE 0 END::DECIMAL(18,2) AS amount_at_risk,
       '单次开药量超过规定天数（急性' || coalesce(getvariable('max_days_acute'), 7) || '天/慢性' || coalesce(getvariable('max_days_chronic'), 84) ||
           '天），最多为上限的' || round(o.worst_ratio, 1) || '倍' AS summary,
       json_object(
           'visit', json_object('settlement_id', l.settlement_id, 'person_id', l.person_id, 'visit_type', l.visit_type,
                                'at', strftime(l.admitted_at, '%Y-%m-%d %H:%M:%S'), 'diagnosis_code', l.diagnosis_code,
                                'total_amount', l.total_amount::VARCHAR),
           'org', json_object('org_code', l.org_code, 'name', i.name, 'kind', i.kind),
           'drugs', o.items, 'days_supply_method', 'days = quantity × pieces per unit × strength ÷ WHO DDD (ref_drug, conv_drug_unit)',
           'fund_and_account_paid', l.at_risk::VARCHAR
       ) AS facts,
       json_object('supply_over_limit', round(o.worst_ratio, 3)) AS score_parts
FROM over o JOIN (SELECT rowid AS srow, settlement_id, person_id, org_code, visit_type, admitted_at, diagnosis_code, total_amount,
                          fund_paid + account_paid AS at_risk FROM settlements) l
     USING (srow)
LEFT JOIN institutions i USING (org_code)
