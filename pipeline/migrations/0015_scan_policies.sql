-- The settlement policy file each scan recomputed under and how much of the
-- loaded data it covered (issue 11: policy tables as data, with coverage).
-- Settlements of an insured region without a policy in force at their date
-- are unknown: counted here, never flagged by the recompute checks.
CREATE TABLE scan_policies (
    scan_id     BIGINT PRIMARY KEY,
    source      VARCHAR NOT NULL,  -- file path, or builtin:policies/default.yaml
    title       VARCHAR NOT NULL,
    revision    VARCHAR NOT NULL,
    example     BOOLEAN NOT NULL,  -- the file says its values are examples (示例)
    sha256      VARCHAR NOT NULL,  -- of the file's bytes
    settlements BIGINT NOT NULL,
    covered     BIGINT NOT NULL,
    coverage    JSON NOT NULL      -- detectors.PolicyCoverage
);
