-- other.duplicate_item: an item billed above its daily limit (重复收费,
-- GZ10000102012000): bed fee, nursing and the inpatient consultation fee
-- at most once a day. The excess is what exceeds the limit on its day and
-- also the limit × the calendar days of the stay (a charge posted on the
-- next day after a late-night admission is not a duplicate); stays whose
-- lines are posted on few days (an HIS that posts at discharge) are checked
-- against the calendar days only. The
-- amount at risk is the excess quantity × unit price × the fund and account
-- share of the settlement. Runs as is in the DuckDB CLI.
WITH limits(item_code, daily_limit) AS (
    SELECT DISTINCT item_code, 1 FROM fee_items WHERE category IN ('bed', 'nursing')
    UNION SELECT '001104000010000', 1
),
visits AS (
    SELECT s.settlement_id, s.person_id, s.org_code, s.visit_type, s.admitted_at, coalesce(s.discharged_at, s.admitted_at) AS ended_at,
           s.total_amount, s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, coalesce(s.discharged_at, s.admitted_at)::DATE) + 1 AS days
    FROM settlements s
    WHERE s.visit_type IN ('inpatient', 'outpatient')
),
totals AS (   -- per settlement and limited item: an excess needs more than the limit × the calendar days
    SELECT f.settlement_id, f.item_code, sum(f.quantity) AS total_qty
    FROM fee_items f JOIN limits USING (item_code)
    GROUP BY f.settlement_id, f.item_code
),
cand AS MATERIALIZED (
    SELECT t.settlement_id, t.item_code, l.daily_limit
    FROM totals t JOIN limits l USING (item_code) JOIN visits v USING (settlement_id)
    WHERE t.total_qty > v.days * l.daily_limit
),
-- every line of the candidates' settlements, read once for the per-day
-- detail and the posting days. (Joined to cand directly, DuckDB took cand
-- for the larger side and built its hash table from all of fee_items:
-- 15.8 s at 1 M persons where cand was empty.)
cand_lines AS MATERIALIZED (
    SELECT f.settlement_id, f.item_code, f.item_name, f.charged_at::DATE AS d, f.quantity, f.unit_price
    FROM fee_items f WHERE f.settlement_id IN (SELECT settlement_id FROM cand)
),
daily AS (   -- the candidates' quantity per day
    SELECT l.settlement_id, l.item_code, min(l.item_name) AS item_name, l.d,
           sum(l.quantity) AS qty, max(l.unit_price) AS unit_price
    FROM cand_lines l SEMI JOIN cand c ON c.settlement_id = l.settlement_id AND c.item_code = l.item_code
    GROUP BY l.settlement_id, l.item_code, l.d
),
per_item AS (
    SELECT dl.settlement_id, dl.item_code, min(dl.item_name) AS item_name, any_value(c.daily_limit) AS daily_limit,
           max(dl.unit_price) AS unit_price, sum(dl.qty) AS total_qty,
           sum(greatest(dl.qty - c.daily_limit, 0)) AS day_excess,
           list(json_object('day', strftime(dl.d, '%Y-%m-%d'), 'quantity', dl.qty::DOUBLE) ORDER BY dl.d)
               FILTER (WHERE dl.qty > c.daily_limit)[1:10] AS over_days
    FROM daily dl JOIN cand c USING (settlement_id, item_code)
    GROUP BY dl.settlement_id, dl.item_code
),
posting AS (   -- the days a candidate's lines are posted on
    SELECT settlement_id, count(DISTINCT d) AS posting_days FROM cand_lines GROUP BY settlement_id
),
excess AS (
    SELECT v.*, p.item_code, p.item_name, p.daily_limit, p.unit_price, p.total_qty, p.over_days, ps.posting_days,
           CASE WHEN ps.posting_days >= 0.5 * v.days THEN least(p.day_excess, greatest(p.total_qty - v.days * p.daily_limit, 0))
                ELSE greatest(p.total_qty - v.days * p.daily_limit, 0) END AS excess_qty,
           ps.posting_days >= 0.5 * v.days AS daily_billing
    FROM per_item p JOIN visits v USING (settlement_id) JOIN posting ps USING (settlement_id)
),
agg AS (
    SELECT settlement_id, sum(excess_qty * unit_price) AS excess_amount, sum(excess_qty) AS excess_qty,
           list(json_object('item_code', item_code, 'item_name', item_name, 'daily_limit', daily_limit,
                            'total_quantity', total_qty::DOUBLE, 'excess_quantity', excess_qty::DOUBLE,
                            'unit_price', unit_price::VARCHAR, 'checked', CASE WHEN daily_billing THEN 'per_day' ELSE 'per_stay' END,
                            'days_over_limit', over_days) ORDER BY item_code) AS items
    FROM excess WHERE excess_qty > 0
    GROUP BY settlement_id
)
SELECT v.settlement_id AS subject_id,
       v.org_code,
       least(0.9, 0.5 + 0.05 * a.excess_qty) AS score,
       CASE WHEN v.total_amount > 0 THEN least(v.at_risk, a.excess_amount * v.at_risk / v.total_amount) ELSE 0 END::DECIMAL(18,2) AS amount_at_risk,
       '按日限次收费项目超量' || a.excess_qty::DOUBLE || '次（' || round(a.excess_amount, 2) || '元），如床位费、护理费一天收取多次' AS summary,
       json_object(
           'visit', json_object('settlement_id', v.settlement_id, 'person_id', v.person_id, 'visit_type', v.visit_type,
                                'admitted_at', strftime(v.admitted_at, '%Y-%m-%d %H:%M:%S'),
                                'ended_at', strftime(v.ended_at, '%Y-%m-%d %H:%M:%S'), 'calendar_days', v.days,
                                'total_amount', v.total_amount::VARCHAR),
           'org', json_object('org_code', v.org_code, 'name', i.name, 'level', i.level),
           'items', a.items, 'excess_amount', round(a.excess_amount, 2)::VARCHAR,
           'fund_and_account_paid', v.at_risk::VARCHAR
       ) AS facts,
       json_object('excess_quantity', a.excess_qty::DOUBLE) AS score_parts
FROM agg a JOIN visits v USING (settlement_id) LEFT JOIN institutions i USING (org_code)
