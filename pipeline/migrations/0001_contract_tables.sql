-- Contract v1 tables (../shared/CONTRACT.md). Every table also carries:
--   batch_id  the batch that delivered the current version of the row
--   run_id    the ingest run that loaded it (ingest_runs.run_id)
--   src_line  its line (CSV) or 1-based row index (Parquet/Arrow) in that batch's file
--   row_hash  xxh3 of the row's canonical values: equal hash = same content
--   extra     JSON object of columns the contract does not name, when a file had any
-- Money is DECIMAL(18,2) yuan; quantities and unit prices DECIMAL(18,4).
-- Uniqueness of the keys is enforced by the ingest merge, not by indexes,
-- so that 10^8-row tables need no in-memory ART index.

CREATE TABLE institutions (
    org_code     VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    level        INTEGER NOT NULL,
    region_code  VARCHAR NOT NULL,
    beds         INTEGER,
    specialty    VARCHAR,
    batch_id     VARCHAR NOT NULL,
    run_id       BIGINT NOT NULL,
    src_line     BIGINT NOT NULL,
    row_hash     UBIGINT NOT NULL,
    extra        VARCHAR
);

CREATE TABLE persons (
    person_id       VARCHAR NOT NULL,
    id_number       VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    sex             INTEGER NOT NULL,
    birth_date      DATE NOT NULL,
    insured_region  VARCHAR NOT NULL,
    insurance_type  VARCHAR NOT NULL,
    death_date      DATE,
    retiree         BOOLEAN,
    account_balance DECIMAL(18,2),
    batch_id        VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash        UBIGINT NOT NULL,
    extra           VARCHAR
);

CREATE TABLE catalog (
    item_code       VARCHAR NOT NULL,
    item_name       VARCHAR NOT NULL,
    category        VARCHAR NOT NULL,
    catalog_class   VARCHAR NOT NULL,
    selfpay_ratio   DECIMAL(5,4),
    price_ceiling   DECIMAL(18,4),
    sex_restriction INTEGER,
    valid_from      DATE NOT NULL,
    valid_to        DATE,
    batch_id        VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash        UBIGINT NOT NULL,
    extra           VARCHAR
);

CREATE TABLE registrations (
    registration_id  VARCHAR NOT NULL,
    person_id        VARCHAR NOT NULL,
    insured_region   VARCHAR NOT NULL,
    treatment_region VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    valid_from       DATE NOT NULL,
    valid_to         DATE,
    batch_id         VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash         UBIGINT NOT NULL,
    extra            VARCHAR
);

CREATE TABLE settlements (
    settlement_id     VARCHAR NOT NULL,
    person_id         VARCHAR NOT NULL,
    card_no           VARCHAR NOT NULL,
    org_code          VARCHAR NOT NULL,
    visit_type        VARCHAR NOT NULL,
    dept_code         VARCHAR,
    doctor_id         VARCHAR,
    admitted_at       TIMESTAMP NOT NULL,
    discharged_at     TIMESTAMP,
    diagnosis_code    VARCHAR,
    total_amount      DECIMAL(18,2) NOT NULL,
    fund_paid         DECIMAL(18,2) NOT NULL,
    account_paid      DECIMAL(18,2) NOT NULL,
    cash_paid         DECIMAL(18,2) NOT NULL,
    insured_region    VARCHAR NOT NULL,
    treatment_region  VARCHAR NOT NULL,
    registration_id   VARCHAR,
    referral          BOOLEAN,
    settled_at        TIMESTAMP NOT NULL,
    emergency         BOOLEAN,
    med_type          VARCHAR,
    dscg_way          VARCHAR,
    days_rinp_flag_31 BOOLEAN,
    batch_id          VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash          UBIGINT NOT NULL,
    extra             VARCHAR
);

CREATE TABLE fee_items (
    item_id          VARCHAR NOT NULL,
    settlement_id    VARCHAR NOT NULL,
    item_code        VARCHAR NOT NULL,
    item_name        VARCHAR NOT NULL,
    category         VARCHAR NOT NULL,
    catalog_class    VARCHAR NOT NULL,
    quantity         DECIMAL(18,4) NOT NULL,
    unit_price       DECIMAL(18,4) NOT NULL,
    amount           DECIMAL(18,2) NOT NULL,
    charged_at       TIMESTAMP NOT NULL,
    trace_code       VARCHAR,
    dscg_tkdrug_flag BOOLEAN,
    batch_id         VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash         UBIGINT NOT NULL,
    extra            VARCHAR
);

CREATE TABLE card_swipes (
    swipe_id      VARCHAR NOT NULL,
    card_no       VARCHAR NOT NULL,
    person_id     VARCHAR NOT NULL,
    org_code      VARCHAR NOT NULL,
    swiped_at     TIMESTAMP NOT NULL,
    amount        DECIMAL(18,2) NOT NULL,
    kind          VARCHAR NOT NULL,
    settlement_id VARCHAR,
    terminal_id   VARCHAR,
    cert_type     VARCHAR,
    balance_after DECIMAL(18,2),
    batch_id      VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash      UBIGINT NOT NULL,
    extra         VARCHAR
);

CREATE TABLE stock_movements (
    movement_id VARCHAR NOT NULL,
    org_code    VARCHAR NOT NULL,
    item_code   VARCHAR NOT NULL,
    moved_on    DATE NOT NULL,
    kind        VARCHAR NOT NULL,
    quantity    DECIMAL(18,4) NOT NULL,
    unit_price  DECIMAL(18,4),
    batch_id    VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    src_line         BIGINT NOT NULL,
    row_hash    UBIGINT NOT NULL,
    extra       VARCHAR
);
