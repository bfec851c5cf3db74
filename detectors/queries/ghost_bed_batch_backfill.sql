-- ghost_bed.batch_backfill: stays where most fee lines share one timestamp
-- or the discharge date (补录 at discharge, cf. GZ10000201007000), at a
-- hospital whose other stays are billed day by day (per-hospital
-- self-baseline: an HIS that posts every charge at settlement is normal for
-- itself). Short stays, where one day holds most lines naturally, are
-- skipped. Runs as is in the DuckDB CLI.
WITH stays AS (
    SELECT s.rowid AS srow, s.settlement_id, s.person_id, s.org_code, s.admitted_at, s.discharged_at, s.diagnosis_code, s.med_type,
           s.fund_paid + s.account_paid AS at_risk,
           date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 AS los
    FROM settlements s
    WHERE s.visit_type = 'inpatient' AND s.discharged_at IS NOT NULL
      AND coalesce(s.med_type, '') <> '28'
      AND date_diff('day', s.admitted_at::DATE, s.discharged_at::DATE) + 1 >= CAST(coalesce(getvariable('min_los_days'), 3) AS INTEGER)
),
by_ts AS (
    -- keyed by the stay's rowid (an integer key groups faster than its id),
    -- with whether the timestamp falls on the discharge day, so that the
    -- per-stay sums need not join the stays again (1 M persons: the rule's
    -- CPU 9.0 → 7.2 s)
    SELECT st.srow, f.charged_at, count(*) AS n, bool_or(f.charged_at::DATE = st.discharged_at::DATE) AS discharge_day
    FROM fee_items f JOIN stays st USING (settlement_id)
    WHERE NOT coalesce(f.dscg_tkdrug_flag, false)
    GROUP BY st.srow, f.charged_at
),
per_stay AS (
    -- top_ts: of the timestamps holding the most lines, the earliest (a
    -- tie left to arg_max is decided by thread timing: the summary must
    -- read the same in every scan of the same data), by one HUGEINT key,
    -- the count above the time (|epoch_us| < 10^18): the states of a
    -- STRUCT key do not spill, and at 10.0 M settlements the rule ran out
    -- of the scan's 1 GB with one
    SELECT b.srow, sum(b.n) AS lines, max(b.n) AS top_n,
           arg_max(b.charged_at, b.n::HUGEINT * 1000000000000000000 - epoch_us(b.charged_at)) AS top_ts,
           sum(b.n) FILTER (WHERE b.discharge_day) AS discharge_day_n
    FROM by_ts b
    GROUP BY b.srow
),
shares AS (
    SELECT st.*, p.lines, p.top_n, p.top_ts, coalesce(p.discharge_day_n, 0) AS discharge_day_n,
           greatest(p.top_n, coalesce(p.discharge_day_n, 0)) / p.lines AS share
    FROM per_stay p JOIN stays st USING (srow)
    WHERE p.lines >= CAST(coalesce(getvariable('min_lines'), 10) AS INTEGER)
),
hosp AS (
    SELECT org_code, median(share) AS med_share, count(*) AS stays FROM shares GROUP BY org_code
),
hits AS (
    SELECT s.*, h.med_share, h.stays AS hosp_stays
    FROM shares s JOIN hosp h USING (org_code)
    WHERE s.share >= coalesce(getvariable('min_share'), 0.8)
      AND h.med_share <= coalesce(getvariable('max_hospital_median_share'), 0.5)
)
SELECT h.settlement_id AS subject_id,
       h.org_code,
       least(1.0, 0.5 + (h.share - h.med_share) * 0.5) AS score,
       h.at_risk AS amount_at_risk,
       '住院' || h.los || '天共' || h.lines || '条费用明细，其中' ||
           CASE WHEN h.top_n >= h.discharge_day_n
                THEN h.top_n || '条记在同一时刻' || strftime(h.top_ts, '%Y-%m-%d %H:%M:%S')
                ELSE h.discharge_day_n || '条记在出院当日' END ||
           '（' || round(100 * h.share, 1) || '%）；本院住院费用逐日记账，中位集中度' || round(100 * h.med_share, 1) || '%' AS summary,
       json_object(
           'stay', json_object('settlement_id', h.settlement_id, 'person_id', h.person_id,
                               'admitted_at', strftime(h.admitted_at, '%Y-%m-%d %H:%M:%S'),
                               'discharged_at', strftime(h.discharged_at, '%Y-%m-%d %H:%M:%S'),
                               'los_days', h.los, 'diagnosis_code', h.diagnosis_code, 'med_type', h.med_type),
           'org', json_object('org_code', h.org_code, 'name', i.name, 'level', i.level),
           'lines', h.lines, 'lines_at_one_timestamp', h.top_n, 'timestamp', strftime(h.top_ts, '%Y-%m-%d %H:%M:%S'),
           'lines_on_discharge_day', h.discharge_day_n, 'share', round(h.share, 4),
           'hospital_baseline', json_object('median_share', round(h.med_share, 4), 'stays', h.hosp_stays),
           'fund_and_account_paid', h.at_risk::VARCHAR
       ) AS facts,
       json_object('share_over_hospital', round(h.share - h.med_share, 4)) AS score_parts
FROM hits h LEFT JOIN institutions i USING (org_code)
