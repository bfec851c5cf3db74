-- card_misuse.burst_at_org features: one row per (burst, card). A burst is
-- either a window of window_minutes at one org terminal holding at least
-- min_cards distinct cards (with the terminal's own swipe rate for that hour
-- of the day, for a Poisson tail computed in Go), or an org day with more
-- than day_factor × the org's p95 daily swipes (and at least
-- min_day_swipes). Runs as is in the DuckDB CLI.
-- (sw NOT MATERIALIZED: each part reads the swipes' table itself, only the
-- columns it needs; materialised, its six readers cost 5.7 s of CPU at 1 M
-- persons, the rule 12.4–13.1 s against 7.6–7.8 s)
WITH sw AS NOT MATERIALIZED (
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, coalesce(w.terminal_id, '') AS terminal_id, w.swiped_at, w.amount,
           w.settlement_id
    FROM card_swipes w
    -- a zero-amount swipe is still a card at the terminal: under the
    -- insured-part convention a bill paid wholly in cash is swiped as 0
    WHERE w.kind IN ('purchase', 'settlement') AND w.amount >= 0
),
org_days AS (
    SELECT org_code, count(DISTINCT swiped_at::DATE) AS active_days FROM sw GROUP BY org_code
),
term_hour AS (
    SELECT org_code, terminal_id, hour(swiped_at) AS h, count(*) AS swipes FROM sw GROUP BY ALL
),
tests AS (
    -- the number of windows looked at: every terminal hour with a swipe, × 60 / window_minutes
    SELECT count(*) * 60.0 / coalesce(getvariable('window_minutes'), 10) AS windows
    FROM (SELECT DISTINCT org_code, terminal_id, date_trunc('hour', swiped_at) FROM sw)
),
terminals AS (   -- an integer key per terminal, for the windows to partition by
    SELECT org_code, terminal_id, row_number() OVER () AS tk FROM (SELECT DISTINCT org_code, terminal_id FROM sw)
),
dense AS (
    -- per swipe (narrow: the table's rowid, terminal and time), whether it
    -- starts a window of window_minutes holding at least min_cards swipes
    -- at its terminal (the swipe min_cards - 1 later falls inside it): only
    -- such a window can hold min_cards cards
    SELECT rid, tk, swiped_at,
           lead(swiped_at, CAST(coalesce(getvariable('min_cards'), 5) AS INTEGER) - 1) OVER t
               <= swiped_at + to_minutes(CAST(coalesce(getvariable('window_minutes'), 10) AS BIGINT)) AS starts
    FROM (SELECT w.rowid AS rid, k.tk, w.swiped_at FROM card_swipes w
          JOIN terminals k ON k.org_code = w.org_code AND k.terminal_id = coalesce(w.terminal_id, '')
          WHERE w.kind IN ('purchase', 'settlement') AND w.amount >= 0)
    WINDOW t AS (PARTITION BY tk ORDER BY swiped_at)
),
near_rid AS (
    -- the swipes inside a dense window: the dense window that starts last
    -- at or before a swipe (peers included) covers it when any does (every
    -- window spans at most window_minutes from its start)
    SELECT rid, tk FROM (
        SELECT rid, tk, swiped_at,
               max(CASE WHEN starts THEN swiped_at END) OVER (PARTITION BY tk ORDER BY swiped_at
                                                            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_start
        FROM dense)
    WHERE swiped_at <= last_start + to_minutes(CAST(coalesce(getvariable('window_minutes'), 10) AS BIGINT))
),
near AS (
    SELECT w.swipe_id, w.card_no, w.person_id, w.org_code, coalesce(w.terminal_id, '') AS terminal_id, w.swiped_at, w.amount,
           w.settlement_id, n.tk
    FROM card_swipes w JOIN near_rid n ON n.rid = w.rowid
),
win AS (
    -- per swipe near a dense window, the window of window_minutes it starts
    -- at its terminal: swipes and last swipe, by window functions (no
    -- self-join, which grows with the square of a busy terminal's rate); a
    -- dense window holds every swipe it counts, so its counts over the near
    -- swipes are its counts over all. Its distinct cards are counted below,
    -- for the windows the rate test keeps (it reads the swipes, and a window
    -- of min_cards cards holds at least min_cards swipes): a distinct count
    -- over every near swipe's frame was the rule's largest step at 2.5 M
    -- persons (14.0-14.5 s against 12.3-12.5 s for the rule; 4.1 against
    -- 3.7 s at 1 M).
    SELECT org_code, terminal_id, tk, swipe_id AS start_id, swiped_at AS start_at, end_at, swipes FROM (
        SELECT near.*, count(*) OVER w AS swipes, max(swiped_at) OVER w AS end_at
        FROM near
        WINDOW w AS (PARTITION BY tk ORDER BY swiped_at
                     RANGE BETWEEN CURRENT ROW AND to_minutes(CAST(coalesce(getvariable('window_minutes'), 10) AS BIGINT)) FOLLOWING))
    WHERE swipes >= CAST(coalesce(getvariable('min_cards'), 5) AS INTEGER)
),
win_rated AS (
    -- the window with the terminal's rate at that hour of the day; a window
    -- whose Poisson point probability P(X = swipes) already reaches
    -- alpha / windows cannot pass the tail test in Go (the tail is larger),
    -- so only the others go on to Go
    SELECT w.*, th.swipes AS rate_swipes, od.active_days
    FROM win w
    JOIN org_days od ON od.org_code = w.org_code
    JOIN term_hour th ON th.org_code = w.org_code AND th.terminal_id = w.terminal_id AND th.h = hour(w.start_at)
    CROSS JOIN tests t
    WHERE w.swipes * ln(th.swipes / greatest(od.active_days * 60.0 / coalesce(getvariable('window_minutes'), 10), 1))
          - th.swipes / greatest(od.active_days * 60.0 / coalesce(getvariable('window_minutes'), 10), 1)
          - lgamma(w.swipes + 1)
          < ln(coalesce(getvariable('alpha'), 0.01)) - ln(greatest(t.windows, 1)) + 1e-9
),
win_swipes AS (
    -- (every swipe of a window is a near one)
    SELECT w.*, s.card_no, s.person_id, s.swipe_id, s.swiped_at, s.amount, s.settlement_id,
           count(DISTINCT s.card_no) OVER (PARTITION BY w.tk, w.start_id) AS cards
    FROM win_rated w
    JOIN near s ON s.tk = w.tk AND s.swiped_at BETWEEN w.start_at AND w.end_at
),
win_cards AS (
    SELECT 'window' AS burst, org_code, terminal_id, start_at, end_at, cards, swipes,
           rate_swipes, active_days, NULL::DOUBLE AS day_p95,
           card_no, person_id, swipe_id, swiped_at, amount, settlement_id
    FROM win_swipes
    WHERE cards >= CAST(coalesce(getvariable('min_cards'), 5) AS INTEGER)
),
daily AS (
    SELECT org_code, swiped_at::DATE AS d, count(*) AS swipes, count(DISTINCT card_no) AS cards FROM sw GROUP BY ALL
),
p95 AS (
    SELECT org_code, quantile_cont(swipes, 0.95) AS p95, count(*) AS days FROM daily GROUP BY org_code
),
busy AS (
    SELECT d.*, p.p95 FROM daily d JOIN p95 p USING (org_code)
    WHERE d.swipes > coalesce(getvariable('day_factor'), 3) * p.p95
      AND d.swipes >= CAST(coalesce(getvariable('min_day_swipes'), 20) AS INTEGER)
),
day_cards AS (
    SELECT 'day' AS burst, b.org_code, '' AS terminal_id, b.d::TIMESTAMP AS start_at, b.d::TIMESTAMP + INTERVAL 1 DAY AS end_at,
           b.cards, b.swipes, NULL::BIGINT AS rate_swipes, od.active_days, b.p95 AS day_p95,
           s.card_no, s.person_id, s.swipe_id, s.swiped_at, s.amount, s.settlement_id
    FROM busy b JOIN sw s ON s.org_code = b.org_code AND s.swiped_at::DATE = b.d
    JOIN org_days od ON od.org_code = b.org_code
)
SELECT x.burst, x.org_code, coalesce(i.name, '') AS org_name, coalesce(i.kind, '') AS org_kind, x.terminal_id,
       strftime(x.start_at, '%Y-%m-%d %H:%M:%S') AS start_at, strftime(x.end_at, '%Y-%m-%d %H:%M:%S') AS end_at,
       x.cards, x.swipes, coalesce(x.rate_swipes, 0) AS rate_swipes, x.active_days, coalesce(x.day_p95, 0) AS day_p95,
       x.card_no, x.person_id, x.swipe_id, strftime(x.swiped_at, '%Y-%m-%d %H:%M:%S') AS swiped_at,
       x.amount::VARCHAR AS amount, coalesce(x.settlement_id, '') AS settlement_id, coalesce(st.fund_paid + st.account_paid, x.amount)::VARCHAR AS insured,
       t.windows
FROM (SELECT * FROM win_cards UNION ALL SELECT * FROM day_cards) x
LEFT JOIN institutions i ON i.org_code = x.org_code
-- the settlements of the flagged swipes only (joined to every swipe, they
-- cost a hash join of 3.5 M rows at 1 M persons)
LEFT JOIN settlements st ON st.settlement_id = x.settlement_id
CROSS JOIN tests t
ORDER BY x.card_no, x.burst, x.start_at, x.swipe_id
