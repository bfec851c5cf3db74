-- Case files assembled when they are written: when a case is opened or
-- changes (every change appends an event, and the casebook rebuilds the
-- file of every case with a new event in the same transaction), so that
-- reading a case file is one lookup by key instead of about eight queries
-- that scan fee_items, settlements and card_swipes. A file built before the
-- last committed ingest run or the last scan is stale: reading it assembles
-- it from the tables instead, and the next OpenCases stores it again.
CREATE TABLE case_files (
    case_id  VARCHAR PRIMARY KEY,
    data_run BIGINT,           -- max(run_id) of the committed ingest runs it was built from; NULL: none
    scan_id  BIGINT,           -- max(scan_id) of scans when it was built; NULL: none
    district VARCHAR,          -- the case's district, for the reader's scope check
    file     VARCHAR NOT NULL  -- casebook.CaseFile as JSON, ID number and name masked
);
