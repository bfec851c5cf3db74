-- Detector scans and their flags (CONTRACT.md "What the service gives back").
CREATE TABLE scans (
    scan_id     BIGINT PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,   -- running | done | failed
    detectors   INTEGER NOT NULL,
    error       VARCHAR
);

-- One row per (detector, subject): the flag id is stable across scans. A
-- re-scan refreshes score and evidence; a flag that no longer holds is
-- marked resolved, never deleted.
CREATE TABLE flags (
    flag_id          VARCHAR PRIMARY KEY, -- 'F' + 16 hex of xxh3(detector, subject_type, subject_id)
    scan_id          BIGINT NOT NULL,     -- the last scan that raised it
    first_scan_id    BIGINT NOT NULL,
    detector         VARCHAR NOT NULL,
    family           VARCHAR NOT NULL,
    subject_type     VARCHAR NOT NULL,
    subject_id       VARCHAR NOT NULL,
    org_code         VARCHAR,
    score            DOUBLE NOT NULL,     -- 0..1
    amount_at_risk   DECIMAL(18,2) NOT NULL,
    override_class   VARCHAR NOT NULL,    -- absolute | clinical
    evidence         JSON NOT NULL,
    status           VARCHAR NOT NULL,    -- open | resolved
    resolved_scan_id BIGINT
);

-- Per scan and detector: how many flags, how long it took.
CREATE TABLE scan_detectors (
    scan_id  BIGINT NOT NULL,
    detector VARCHAR NOT NULL,
    flags    BIGINT NOT NULL,
    seconds  DOUBLE NOT NULL
);
