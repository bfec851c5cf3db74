// Package casebook turns flags into cases and carries them through review:
// triage, blind double review by the expert panel (病历评审专家组), decision,
// the institution's appeal, recovery (追回) and closing, every step recorded
// as an append-only, hash-chained event.
//
// The pure parts — the case life cycle, specialty routing with conflict of
// interest, blind double review, Cohen's κ, seeded stratified sampling with
// extrapolated recovery, penalties — import no database and are
// table-tested; Store keeps cases, reviewers and events in DuckDB, writing
// each event in the same transaction as the change it describes.
package casebook
