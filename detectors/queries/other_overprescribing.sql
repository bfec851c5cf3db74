-- other.overprescribing: an outpatient or pharmacy settlement whose supply of
-- one drug exceeds 7 days (acute) or 84 days (chronic: a chronic main
-- diagnosis, or a drug the person obtains at least 3 times in the data)
-- (超量开药, 处方管理办法第19条). Fee lines carry no daily dose, so the days'
-- supply is approximated as quantity ÷ the drug's usual daily quantity,
-- where the usual daily quantity is the median quantity of that item per
-- inpatient stay-day at the same unit price (same billing unit, within 1 %);
-- drugs never given to inpatients, or billed in another unit, are skipped.
-- Runs as is in the DuckDB CLI.
WITH daily_use AS (
    SELECT f.item_code, avg(f.unit_price) AS unit_price, median(q) AS daily_qty, count(*) AS stay_days
    FROM (SELECT f.settlement_id, f.item_code, f.charged_at::DATE AS d, sum(f.quantity) AS q, avg(f.unit_price) AS unit_price
          FROM fee_items f JOIN settlements s USING (settlement_id)
          WHERE s.visit_type = 'inpatient' AND f.category = 'drug' AND NOT coalesce(f.dscg_tkdrug_flag, false)
          GROUP BY f.settlement_id, f.item_code, f.charged_at::DATE) f
    GROUP BY f.item_code
    HAVING count(*) >= CAST(coalesce(getvariable('min_reference_days'), 20) AS INTEGER)
),
lines AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.visit_type, s.admitted_at, s.diagnosis_code, s.total_amount,
           s.fund_paid + s.account_paid AS at_risk, f.item_code, any_value(f.item_name) AS item_name,
           sum(f.quantity) AS qty, sum(f.amount) AS amount, avg(f.unit_price) AS unit_price
    FROM settlements s JOIN fee_items f USING (settlement_id)
    WHERE s.visit_type IN ('outpatient', 'pharmacy') AND f.category = 'drug'
    GROUP BY ALL
),
repeat AS (
    SELECT person_id, item_code, count(DISTINCT settlement_id) AS times FROM lines GROUP BY person_id, item_code
),
supply AS (
    SELECT l.*, u.daily_qty, l.qty / u.daily_qty AS days_supply, r.times,
           r.times >= 3 OR coalesce(l.diagnosis_code, '') SIMILAR TO '(I10|I11|I25|E10|E11|E78|J44|J45|G20|N18|F20|F32).*' AS chronic
    FROM lines l JOIN daily_use u USING (item_code) JOIN repeat r USING (person_id, item_code)
    WHERE abs(l.unit_price - u.unit_price) <= 0.01 * u.unit_price AND u.daily_qty > 0
),
hits AS (
    SELECT *, CASE WHEN chronic THEN coalesce(getvariable('max_days_chronic'), 84) ELSE coalesce(getvariable('max_days_acute'), 7) END AS max_days
    FROM supply
),
over AS (
    SELECT settlement_id, max(days_supply / max_days) AS worst_ratio, sum(amount * (1 - max_days / days_supply)) AS excess_amount,
           list(json_object('item_code', item_code, 'item_name', item_name, 'quantity', qty::DOUBLE,
                            'usual_daily_quantity', daily_qty::DOUBLE, 'days_supply', round(days_supply::DOUBLE, 1),
                            'max_days', max_days, 'chronic', chronic, 'times_obtained', times, 'amount', amount::VARCHAR)
                ORDER BY item_code) AS items
    FROM hits WHERE days_supply > max_days
    GROUP BY settlement_id
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
           'drugs', o.items, 'approximation', 'days_supply = quantity / median inpatient daily quantity at the same unit price',
           'fund_and_account_paid', l.at_risk::VARCHAR
       ) AS facts,
       json_object('supply_over_limit', round(o.worst_ratio, 3)) AS score_parts
FROM over o JOIN (SELECT DISTINCT settlement_id, person_id, org_code, visit_type, admitted_at, diagnosis_code, total_amount, at_risk FROM lines) l
     USING (settlement_id)
LEFT JOIN institutions i USING (org_code)
