-- What each scan read. A full scan reads all the data. An incremental scan
-- (medaudit scan --incremental) builds on the last finished full-coverage
-- scan: it re-runs the per-person detectors over the persons the ingest
-- runs since that scan touched (with the persons, cards and settlements
-- linked to them), re-runs the other detectors over all the data, and
-- carries the per-person flags of everyone else. It runs in full, saying
-- why, when the thresholds, the detectors, the policy file, the catalogue
-- or the institutions changed. Persons at an institution whose learned
-- convention changed count as touched.
CREATE TABLE scan_scopes (
    scan_id         BIGINT PRIMARY KEY,
    mode            VARCHAR NOT NULL, -- full | incremental
    reason          VARCHAR,          -- why an incremental scan that was asked for ran in full (zh-CN, then English)
    data_run        BIGINT NOT NULL,  -- max(run_id) of the committed ingest runs the scan read
    base_scan       BIGINT,           -- incremental: the scan it builds on
    since_run       BIGINT,           -- incremental: that scan's data_run
    all_districts   BOOLEAN NOT NULL, -- false: the scan changed the flags of some districts only
    config          VARCHAR NOT NULL, -- sha256 of the detectors, their thresholds and the policy files
    changed_persons BIGINT,           -- incremental: persons with a new or corrected row since base_scan
    read_persons    BIGINT,           -- incremental: persons whose rows the per-person detectors read
    carried_flags   BIGINT            -- incremental: per-person flags of other persons kept as they were
);

-- The conventions the per-person detectors read, as the last scan learned
-- them from the data (older scans' rows are dropped): an incremental scan
-- re-judges the persons at an institution whose convention has changed
-- since. kind: swipe_amount (item_code ''), drug_unit.
CREATE TABLE scan_conventions (
    scan_id   BIGINT NOT NULL,
    kind      VARCHAR NOT NULL,
    org_code  VARCHAR NOT NULL,
    item_code VARCHAR NOT NULL,
    value     VARCHAR NOT NULL
);
