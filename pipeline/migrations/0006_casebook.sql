-- Casebook: cases built from flags, the review panel and its assignments,
-- and the hash-chained audit trail of every change to a case.
CREATE TABLE cases (
    case_id         VARCHAR PRIMARY KEY,  -- 'C' + 16 hex of the subject
    subject_type    VARCHAR NOT NULL,
    subject_id      VARCHAR NOT NULL,
    org_code        VARCHAR,
    district        VARCHAR,              -- region code of the institution
    families        VARCHAR NOT NULL,     -- comma-separated
    amount_at_risk  DECIMAL(18,2) NOT NULL,
    priority        DOUBLE NOT NULL,      -- expected recovery in yuan
    route           VARCHAR NOT NULL,     -- panel | auditor
    specialty       VARCHAR,
    specialty_gap   BOOLEAN NOT NULL DEFAULT false,
    state           VARCHAR NOT NULL,
    opened_at       TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    due_at          TIMESTAMP,
    verdict         VARCHAR,
    violation_amount DECIMAL(18,2),
    recovered       DECIMAL(18,2) NOT NULL DEFAULT 0,
    fine            DECIMAL(18,2) NOT NULL DEFAULT 0,
    fine_basis      VARCHAR
);

CREATE TABLE case_flags (
    case_id VARCHAR NOT NULL,
    flag_id VARCHAR NOT NULL
);

CREATE TABLE experts (
    expert_id       VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    specialties     VARCHAR NOT NULL,     -- comma-separated: internal, surgery, orthopedics, obstetrics, psychiatry, rehab
    home_org        VARCHAR NOT NULL,
    district        VARCHAR NOT NULL,
    weekly_capacity INTEGER NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE assignments (
    case_id          VARCHAR NOT NULL,
    expert_id        VARCHAR NOT NULL,
    round            INTEGER NOT NULL,    -- 1: the two independent reviewers; 2: the tie-breaker
    assigned_at      TIMESTAMP NOT NULL,
    due_at           TIMESTAMP NOT NULL,
    submitted_at     TIMESTAMP,
    verdict          VARCHAR,
    violation_amount DECIMAL(18,2),
    comment          VARCHAR
);

-- Detector modes: a shadow detector's flags are recorded but open no cases
-- until its precision is known.
CREATE TABLE rule_settings (
    detector VARCHAR PRIMARY KEY,
    mode     VARCHAR NOT NULL            -- active | shadow
);

CREATE TABLE case_events (
    seq       BIGINT PRIMARY KEY,
    case_id   VARCHAR NOT NULL,
    actor     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    event_at  TIMESTAMP NOT NULL,
    payload   VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL
);

-- The last event appended: a deleted tail no longer matches it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash VARCHAR NOT NULL
);
