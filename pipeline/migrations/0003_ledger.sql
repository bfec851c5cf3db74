-- One row per `medaudit ingest` run, committed or failed. A failed run loads
-- nothing; its row records why.
CREATE TABLE ingest_runs (
    run_id      BIGINT PRIMARY KEY,
    batch_id    VARCHAR NOT NULL, -- content fingerprint of the batch's files
    dir         VARCHAR NOT NULL, -- base name of the batch folder
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    status      VARCHAR NOT NULL, -- committed | failed
    error       VARCHAR
);

-- Per file and run: read = loaded + quarantined + unchanged + corrected.
CREATE TABLE batch_ledger (
    run_id      BIGINT NOT NULL,
    batch_id    VARCHAR NOT NULL,
    file        VARCHAR NOT NULL, -- file name as delivered, e.g. settlements.csv.gz
    table_name  VARCHAR NOT NULL,
    format      VARCHAR NOT NULL, -- csv | csv.gz | parquet | arrow
    read        BIGINT NOT NULL,
    loaded      BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    corrected   BIGINT NOT NULL,
    warnings    BIGINT NOT NULL
);

-- Rows that were not loaded, with a reason a person can read. Keyed by
-- (batch_id, file, line): re-ingesting the same batch adds nothing.
CREATE TABLE quarantine (
    batch_id    VARCHAR NOT NULL,
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,  -- CSV: physical line of the record (header = 1); Parquet/Arrow: 1-based row index
    column_name VARCHAR,          -- first offending column, NULL for row-level problems
    reason      VARCHAR NOT NULL,
    raw         VARCHAR NOT NULL, -- the row as read, CSV-encoded in the file's column order
    quarantined_at TIMESTAMP NOT NULL
);

-- Well-formed rows that were loaded but carry a data-quality note (e.g. an ID
-- number whose birth digits disagree with birth_date): detectors' evidence.
CREATE TABLE data_quality (
    batch_id    VARCHAR NOT NULL,
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    table_name  VARCHAR NOT NULL,
    record_key  VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    note        VARCHAR NOT NULL
);
