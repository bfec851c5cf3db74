-- Per-institution rates over [$from, $to) for the institutions of one kind
-- and level, with the peers' median and MAD: flagged settlements per 1,000
-- settlements, amount at risk per 100 yuan of fund paid, mean length of
-- inpatient stays, share of inpatient settlements; per metric, $org's
-- value, the peers' median and MAD (peers include $org) and their number.
WITH st AS (
    SELECT s.org_code, count(*) AS settlements,
           sum(s.fund_paid) AS fund,
           count(*) FILTER (WHERE s.visit_type = 'inpatient') AS inpatient,
           avg(date_diff('day', s.admitted_at, s.discharged_at)) FILTER (WHERE s.visit_type = 'inpatient') AS los
    FROM settlements s
    WHERE s.settled_at >= $from::DATE AND s.settled_at < $to::DATE
    GROUP BY s.org_code
), fl AS (
    -- each flagged subject once, at its largest amount
    SELECT org_code, count(*) FILTER (WHERE subject_type = 'settlement') AS flagged, sum(amount) AS at_risk
    FROM (SELECT org_code, subject_type, subject_id, max(amount_at_risk) AS amount
          FROM report_flags('')
          WHERE flagged_on >= $from::DATE AND flagged_on < $to::DATE
          GROUP BY ALL)
    GROUP BY org_code
), rates AS (
    SELECT i.org_code,
           1000.0 * coalesce(fl.flagged, 0) / st.settlements AS flagged_per_1000,
           CASE WHEN st.fund > 0 THEN 100.0 * coalesce(fl.at_risk, 0) / st.fund END AS at_risk_per_100,
           st.los AS mean_los,
           100.0 * st.inpatient / st.settlements AS inpatient_pct
    FROM institutions i JOIN st USING (org_code) LEFT JOIN fl USING (org_code)
    WHERE i.kind = $kind AND i.level = $level
), long AS (
    FROM rates UNPIVOT (v FOR metric IN (flagged_per_1000, at_risk_per_100, mean_los, inpatient_pct))
)
SELECT metric,
       any_value(v) FILTER (WHERE org_code = $org) AS value,
       median(v) AS peer_median,
       mad(v) AS peer_mad,
       count(*) AS peers
FROM long
GROUP BY metric
ORDER BY CASE metric WHEN 'flagged_per_1000' THEN 1 WHEN 'at_risk_per_100' THEN 2 WHEN 'mean_los' THEN 3 ELSE 4 END;
