// Package detectors is the plug-in contract of the fraud detectors, in the
// manner of database/sql/driver: a small required interface, optional
// capabilities discovered by type assertion, and an explicit registry
// (Registry) that lists every detector, names unique.
//
// A Detector has a Name ("family.rule", e.g. ghost_bed.no_daily_charges) and
// a Detect method that reads the loaded data through a Querier and returns
// flags. Every flag names its subject at the contract's granularity
// (ghost_bed → the inpatient settlement, impersonation → the impersonated
// settlement, drug_substitution → the institution, card_misuse → the card),
// carries a score in 0..1, the amount at risk (fund + personal account, in
// fen) and Evidence a reviewer can check: codes with their Chinese names,
// times, institutions, the thresholds used, peer baselines, score parts and
// the likely innocent explanations.
//
// Each rule has an override class: Absolute (no medical record can justify
// it, e.g. activity after death) or Clinical (a record can overturn it); only
// clinical flags go to the review panel.
//
// Most detectors are SQL: an embedded .sql file under queries/ that runs as
// is in the DuckDB CLI. Its thresholds are read with
// coalesce(getvariable('name'), default), so the file works with its
// defaults in the CLI and with configured values when run by Scan (which sets
// them with SET VARIABLE). A SQL detector's query returns the columns
// subject_id, org_code, score, amount_at_risk and evidence (a JSON object).
// Statistical detectors compute features in SQL and score them in Go with
// gonum.
//
// Every detector passes the shared conformance suite in detectortest:
// deterministic output, honours context cancellation, no flags on empty
// data, non-empty evidence. DuckDB aggregates in parallel, so a query that
// picks one row of several must say which: arg_max / arg_min with a
// tie-breaker in the key (over many groups one numeric key, or a window:
// the states of a STRUCT key do not spill), min(item_name) rather than
// any_value where one
// code may carry several names, list(… ORDER BY …). A choice left to
// DuckDB is made by thread timing, and the evidence of one flag would read
// differently from scan to scan on the same data.
//
// Scan runs the registry over a database, stores the flags with stable ids
// (the same detector and subject give the same flag id in every scan),
// resolves flags that no longer hold and records per-detector timings.
//
// Every rule declares its population and a ceiling on the share of it it
// may flag (population.go, from the base rates of DOMAIN.md §12). After the
// detectors ran, the population-rate guard (guard.go) counts each rule
// against its population over the batch and per insured region × insurance
// type × visit type: a rule above its ceiling with its flags spread over
// many institutions becomes one calibration alarm whose flags are stored
// 'suppressed' (no case, no review panel) until an auditor resolves it; a
// rule above its ceiling because of a few institutions keeps its flags and
// gives each of them an institution flag <family>.rule_concentration.
// Thresholds can be overridden from a YAML file (thresholds.go), and
// RankInstitutions (ranking.go) orders institutions for inspection.
package detectors
