-- Scheduled and on-demand report runs (reports package) and the files each
-- run produced, archived with the inputs they were computed from. A run's
-- files and its 'done' status are written in one transaction at its end; a
-- 'running' row left by a crash is visible and the scheduler redoes the run.
CREATE TABLE report_runs (
    run_id        BIGINT PRIMARY KEY,
    job           VARCHAR NOT NULL,   -- job name from the schedule config
    kind          VARCHAR NOT NULL,   -- monthly_scan | quarterly_inspection | annual_scoring
    scheduled_for TIMESTAMP NOT NULL, -- the cron occurrence (or the --at time of a manual run)
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,   -- running | done | failed
    error         VARCHAR,
    districts     VARCHAR NOT NULL,   -- comma-separated region codes; empty = all
    inputs        JSON                -- the same document as the run's inputs.json file
);

CREATE TABLE report_files (
    run_id     BIGINT NOT NULL,
    name       VARCHAR NOT NULL,      -- e.g. monthly-2026-10.html, inputs.json
    media_type VARCHAR NOT NULL,
    content    BLOB NOT NULL,
    sha256     VARCHAR NOT NULL,      -- hex digest of content
    bytes      BIGINT NOT NULL,
    PRIMARY KEY (run_id, name)
);

-- The open flags a report covers, with their institution and the date they
-- are counted on: the flagged settlement's settled_at, or for a flag on a
-- person, card or institution the start of the scan that first raised it.
-- districts: comma-separated region codes, '' for all (a flag without an
-- institution is only in the all-districts scope).
CREATE MACRO report_flags(districts) AS TABLE
SELECT f.flag_id, f.detector, f.family, f.subject_type, f.subject_id, f.org_code,
       i.name AS org_name, i.kind AS org_kind, i.level AS org_level, i.region_code,
       f.score, f.amount_at_risk, f.evidence->>'summary' AS summary, f.first_scan_id,
       coalesce(s.settled_at, sc.started_at) AS flagged_on
FROM flags f
LEFT JOIN institutions i ON i.org_code = f.org_code
LEFT JOIN settlements s ON f.subject_type = 'settlement' AND s.settlement_id = f.subject_id
JOIN scans sc ON sc.scan_id = f.first_scan_id
WHERE f.status = 'open'
  AND (districts = '' OR list_contains(string_split(districts, ','), i.region_code));

-- The cases a report covers (same districts convention, on cases.district).
CREATE MACRO report_cases(districts) AS TABLE
SELECT * FROM cases
WHERE districts = '' OR list_contains(string_split(districts, ','), district);
