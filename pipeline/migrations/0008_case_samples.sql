-- Seeded stratified samples of an institution's claims drawn for record
-- pulls, with the seed and the sampling frame, so anyone can redraw them;
-- and the extrapolated recovery once the sampled records are reviewed.
CREATE TABLE case_samples (
    case_id     VARCHAR PRIMARY KEY,
    seed        UBIGINT NOT NULL,
    size        INTEGER NOT NULL,
    frame       VARCHAR NOT NULL,  -- JSON: stratum -> units in the frame
    drawn       VARCHAR NOT NULL,  -- JSON: stratum -> units drawn
    selected    VARCHAR NOT NULL,  -- JSON array of settlement ids
    created_at  TIMESTAMP NOT NULL,
    estimate    DECIMAL(18,2),     -- extrapolated over-payment
    low         DECIMAL(18,2),     -- 90 % interval
    high        DECIMAL(18,2),
    found       VARCHAR            -- JSON: settlement id -> over-payment found
);
