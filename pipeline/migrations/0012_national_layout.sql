-- The national platform's extract layout (setl_d / mdtrt_d / fee_list_d,
-- DOMAIN.md §5.4, §6.4, §13.3). Optional columns take the national names.

-- A settlement belongs to a visit (mdtrt_id); a stay settled in parts
-- (中途结算) has several settlements with the same visit id. The fund parts
-- of §5.4 are optional: when present the recompute compares them part by
-- part. cert_type is mdtrt_cert_type (就诊凭证类型). The tables are rebuilt
-- so that the contract columns stay ahead of the load metadata.
CREATE TABLE settlements_v12 (
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
    mdtrt_id          VARCHAR,
    mid_setl_flag     BOOLEAN,
    fulamt_ownpay_amt DECIMAL(18,2),
    overlmt_selfpay   DECIMAL(18,2),
    preselfpay_amt    DECIMAL(18,2),
    inscp_amt         DECIMAL(18,2),
    act_pay_dedc      DECIMAL(18,2),
    hifp_pay          DECIMAL(18,2),
    cvlserv_pay       DECIMAL(18,2),
    hifes_pay         DECIMAL(18,2),
    hifmi_pay         DECIMAL(18,2),
    hifob_pay         DECIMAL(18,2),
    maf_pay           DECIMAL(18,2),
    oth_pay           DECIMAL(18,2),
    cert_type         VARCHAR,
    batch_id          VARCHAR NOT NULL,
    run_id            BIGINT NOT NULL,
    src_line          BIGINT NOT NULL,
    row_hash          UBIGINT NOT NULL,
    extra             VARCHAR
);
INSERT INTO settlements_v12 BY NAME SELECT * FROM settlements;
DROP TABLE settlements;
ALTER TABLE settlements_v12 RENAME TO settlements;
CREATE TABLE settlements_history_v12 AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM settlements LIMIT 0;
INSERT INTO settlements_history_v12 BY NAME SELECT * FROM settlements_history;
DROP TABLE settlements_history;
ALTER TABLE settlements_history_v12 RENAME TO settlements_history;

-- A credential other than the 18-digit resident ID (psn_cert_type ≠ 01,
-- e.g. a passport): id_number holds its number, unchecked.
CREATE TABLE persons_v12 (
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
    cert_type       VARCHAR,
    batch_id        VARCHAR NOT NULL,
    run_id          BIGINT NOT NULL,
    src_line        BIGINT NOT NULL,
    row_hash        UBIGINT NOT NULL,
    extra           VARCHAR
);
INSERT INTO persons_v12 BY NAME SELECT * FROM persons;
DROP TABLE persons;
ALTER TABLE persons_v12 RENAME TO persons;
CREATE TABLE persons_history_v12 AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM persons LIMIT 0;
INSERT INTO persons_history_v12 BY NAME SELECT * FROM persons_history;
DROP TABLE persons_history;
ALTER TABLE persons_history_v12 RENAME TO persons_history;

-- Refunds (refd_setl_flag = 1): a reversal of the settlement init_setl_id,
-- amounts negative. The original stays in settlements (the visit happened);
-- its money nets to zero with the reversal.
CREATE TABLE settlement_refunds (
    settlement_id   VARCHAR NOT NULL,
    init_setl_id    VARCHAR NOT NULL,
    person_id       VARCHAR NOT NULL,
    org_code        VARCHAR NOT NULL,
    mdtrt_id        VARCHAR,
    total_amount    DECIMAL(18,2) NOT NULL,
    fund_paid       DECIMAL(18,2) NOT NULL,
    account_paid    DECIMAL(18,2) NOT NULL,
    cash_paid       DECIMAL(18,2) NOT NULL,
    hifp_pay        DECIMAL(18,2),
    settled_at      TIMESTAMP NOT NULL,
    batch_id        VARCHAR NOT NULL,
    run_id          BIGINT NOT NULL,
    src_line        BIGINT NOT NULL,
    row_hash        UBIGINT NOT NULL,
    extra           VARCHAR
);
CREATE TABLE settlement_refunds_history AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM settlement_refunds LIMIT 0;

-- Rows of a national extract marked invalid (vali_flag = 0): read, not
-- loaded, not lost: read = loaded + quarantined + unchanged + corrected + void.
-- The layout and dialect each file was read with.
ALTER TABLE batch_ledger ADD COLUMN void BIGINT DEFAULT 0;
ALTER TABLE batch_ledger ADD COLUMN layout VARCHAR;
ALTER TABLE batch_ledger ADD COLUMN encoding VARCHAR;
ALTER TABLE batch_ledger ADD COLUMN delimiter VARCHAR;
ALTER TABLE batch_ledger ADD COLUMN quote VARCHAR;

-- mdtrt_d as loaded: the visit one or more settlements belong to. Its
-- fields keep their national names.
CREATE TABLE visits (
    mdtrt_id           VARCHAR NOT NULL,
    psn_no             VARCHAR NOT NULL,
    fixmedins_code     VARCHAR,
    begntime           TIMESTAMP NOT NULL,
    endtime            TIMESTAMP,
    med_type           VARCHAR,
    dscg_maindiag_code VARCHAR,
    adm_dept_codg      VARCHAR,
    chfpdr_code        VARCHAR,
    dscg_way           VARCHAR,
    die_date           DATE,
    ipt_days           INTEGER,
    batch_id           VARCHAR NOT NULL,
    run_id             BIGINT NOT NULL,
    src_line           BIGINT NOT NULL,
    row_hash           UBIGINT NOT NULL,
    extra              VARCHAR
);
CREATE TABLE visits_history AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM visits LIMIT 0;

-- A stay settled in parts (中途结算: inpatient settlements sharing one
-- mdtrt_id) is one stay. inpatient_stay_parts maps every inpatient
-- settlement to the settlement that closes its stay (the last settled);
-- inpatient_stays has one row per stay: the closing settlement with the
-- stay's admission time and money (the sums over its parts).
CREATE VIEW inpatient_stay_parts AS
SELECT settlement_id,
       last_value(settlement_id) OVER (PARTITION BY person_id, coalesce(mdtrt_id, settlement_id) ORDER BY settled_at, settlement_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS stay_id
FROM settlements WHERE visit_type = 'inpatient';

CREATE VIEW inpatient_stays AS
SELECT * EXCLUDE (stay_id, stay_admitted, stay_total, stay_fund, stay_account, stay_cash)
         REPLACE (stay_admitted AS admitted_at, stay_total AS total_amount, stay_fund AS fund_paid,
                  stay_account AS account_paid, stay_cash AS cash_paid)
FROM settlements s
JOIN (SELECT p.stay_id, min(x.admitted_at) AS stay_admitted, sum(x.total_amount) AS stay_total, sum(x.fund_paid) AS stay_fund,
             sum(x.account_paid) AS stay_account, sum(x.cash_paid) AS stay_cash
      FROM inpatient_stay_parts p JOIN settlements x USING (settlement_id) GROUP BY p.stay_id) a ON a.stay_id = s.settlement_id;

-- Settlements their refunds reverse in full: the visit was settled again
-- (or not at all), so they are neither money nor another visit.
CREATE VIEW reversed_settlements AS
SELECT r.init_setl_id AS settlement_id
FROM settlement_refunds r JOIN settlements o ON o.settlement_id = r.init_setl_id
GROUP BY r.init_setl_id, o.total_amount
HAVING sum(r.total_amount) = -o.total_amount;
