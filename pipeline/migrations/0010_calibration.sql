-- Population-rate guard (detectors/guard.go): per scan, each rule's flag
-- share of its population, and the calibration alarms raised where a rule
-- flags more than its ceiling across a cell that spans many institutions.
-- The flags of an alarm's cell are stored with status 'suppressed': they
-- open no case and reach no review panel until the alarm is resolved as
-- released (the flags reopen) or the next scan no longer raises them.

-- One row per scan and rule: its population and share (the scan summary).
CREATE TABLE scan_rule_shares (
    scan_id         BIGINT NOT NULL,
    detector        VARCHAR NOT NULL,
    population      VARCHAR NOT NULL,   -- e.g. settlements.outpatient_pharmacy
    population_size BIGINT NOT NULL,    -- subjects in the population
    flagged         BIGINT NOT NULL,    -- distinct flagged subjects in it
    share           DOUBLE NOT NULL,    -- flagged / population_size
    ceiling         DOUBLE NOT NULL     -- the rule's documented ceiling
);

CREATE TABLE calibration_alarms (
    alarm_id        VARCHAR PRIMARY KEY, -- 'A' + 16 hex of sha256(detector, cell)
    detector        VARCHAR NOT NULL,
    family          VARCHAR NOT NULL,
    population      VARCHAR NOT NULL,
    cell_region     VARCHAR NOT NULL,    -- insured region, '*' = every region
    cell_insurance  VARCHAR NOT NULL,    -- insurance type, '*' = every type
    cell_visit_type VARCHAR NOT NULL,    -- visit type, '*' = every type
    population_size BIGINT NOT NULL,
    flagged         BIGINT NOT NULL,
    share           DOUBLE NOT NULL,
    ceiling         DOUBLE NOT NULL,
    institutions    BIGINT NOT NULL,     -- distinct institutions with flags in the cell
    rest_share      DOUBLE NOT NULL,     -- share without the 3 institutions with most flags
    amount_at_risk  DECIMAL(18,2) NOT NULL, -- of the held flags, once per subject (the largest)
    examples        JSON NOT NULL,       -- a few held flags: flag_id, subject, institution, summary
    breakdown       JSON NOT NULL,       -- a whole-batch alarm's cells, most flagged first: where the excess sits
    cause           VARCHAR NOT NULL,    -- the likely cause, zh-CN
    first_scan_id   BIGINT NOT NULL,
    scan_id         BIGINT NOT NULL,     -- the last scan that raised it
    status          VARCHAR NOT NULL,    -- open | fixed | released | cleared
    resolved_by     VARCHAR,
    resolved_at     TIMESTAMP,
    resolution_note VARCHAR
);

-- The flags an alarm holds (for the last scan that raised it).
CREATE TABLE calibration_alarm_flags (
    alarm_id VARCHAR NOT NULL,
    flag_id  VARCHAR NOT NULL
);

-- The threshold values a scan ran with (the defaults overridden by a
-- thresholds file): detector → threshold → value, as JSON.
CREATE TABLE scan_thresholds (
    scan_id    BIGINT PRIMARY KEY,
    source     VARCHAR NOT NULL,         -- the thresholds file, or 'defaults'
    thresholds JSON NOT NULL
);
