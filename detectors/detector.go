package detectors

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Querier is what a detector reads through: a *sql.DB, *sql.Conn or *sql.Tx
// of the loaded DuckDB database.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Detector finds one kind of suspicious pattern.
type Detector interface {
	// Name is "family.rule", unique in the registry.
	Name() string
	// Detect returns the flags found in the data. It must be deterministic
	// for the same data and honour ctx cancellation.
	Detect(ctx context.Context, q Querier) ([]Flag, error)
}

// FlagStreamer is an optional capability of a Go detector whose flags can
// be many: DetectEach hands each flag to emit as soon as it is built, in no
// particular order and possibly from several goroutines at once (emit must
// be safe for concurrent use), and keeps none, so that a scan stores them
// as they come and Go memory does not grow with the number of flags.
// Detect returns the same flags, by subject.
type FlagStreamer interface {
	DetectEach(ctx context.Context, q Querier, emit func(Flag) error) error
}

// Describer is an optional capability: what the rule is, for the case file
// and the reports.
type Describer interface {
	Describe() Info
}

// Override says whether a medical record can justify a flag.
type Override string

// Override classes.
const (
	// Absolute: no record can justify it (activity after death, a swipe
	// without a settlement); it skips the review panel.
	Absolute Override = "absolute"
	// Clinical: a medical record may overturn it; the review panel decides.
	Clinical Override = "clinical"
)

// Info describes a detector.
type Info struct {
	Name        string      `json:"name"`
	Family      string      `json:"family"`       // contract.Family*
	SubjectType string      `json:"subject_type"` // contract.Subject*
	Override    Override    `json:"override_class"`
	Title       string      `json:"title"`      // zh-CN, e.g. 住院期间无每日床位费
	Basis       string      `json:"rule_basis"` // legal or rule basis, e.g. 条例第38条; GZ10000201008000
	Thresholds  []Threshold `json:"thresholds"`
	Caveats     []string    `json:"caveats"` // innocent explanations a reviewer must rule out (zh-CN)
	// PerPerson: the rule judges a subject from its holder's own rows (their
	// whole history, the cards they use and the swipes and settlements
	// linked to theirs) and the reference tables alone, with no baseline
	// over other persons or institutions. An incremental scan re-runs such a
	// rule over the persons a new batch touched only (incremental.go).
	PerPerson bool `json:"per_person"`
}

// Threshold is a documented, configurable parameter of a detector.
type Threshold struct {
	Name    string  `json:"name"`
	Default float64 `json:"default"`
	Unit    string  `json:"unit"`
	Doc     string  `json:"doc"`
}

// Flag is one finding on one subject.
type Flag struct {
	Detector     string
	Family       string
	SubjectType  string
	SubjectID    string
	OrgCode      string
	Score        float64      // 0..1, higher is more suspicious
	AmountAtRisk contract.Fen // fund + personal account money at risk
	Override     Override
	Evidence     Evidence
}

// Evidence is what a reviewer reads: the facts that triggered the flag, in
// words and values they can check.
type Evidence struct {
	Rule       string             `json:"rule"`
	Title      string             `json:"title"`
	Basis      string             `json:"rule_basis,omitempty"`
	Summary    string             `json:"summary"` // one zh-CN sentence with the key numbers
	Facts      map[string]any     `json:"facts"`   // the detector's own facts: stay, lines, swipes, baselines…
	Thresholds map[string]float64 `json:"thresholds"`
	ScoreParts map[string]float64 `json:"score_parts,omitempty"`
	Amount     string             `json:"amount_at_risk"`
	Caveats    []string           `json:"caveats,omitempty"`
}

// Validate checks a flag before it is stored.
func (f *Flag) Validate() error {
	var missing []string
	if f.Detector == "" {
		missing = append(missing, "detector")
	}
	if f.Family == "" {
		missing = append(missing, "family")
	}
	if f.SubjectType == "" || f.SubjectID == "" {
		missing = append(missing, "subject")
	}
	if f.Evidence.Summary == "" || len(f.Evidence.Facts) == 0 {
		missing = append(missing, "evidence")
	}
	if len(missing) > 0 {
		return fmt.Errorf("flag of %s on %s: missing %s", f.Detector, f.SubjectID, strings.Join(missing, ", "))
	}
	if f.Score < 0 || f.Score > 1 {
		return fmt.Errorf("flag of %s on %s: score %g outside 0..1", f.Detector, f.SubjectID, f.Score)
	}
	if f.AmountAtRisk < 0 {
		return fmt.Errorf("flag of %s on %s: negative amount at risk", f.Detector, f.SubjectID)
	}
	return nil
}

// NoisyOR combines independent signal scores: 1 − Π(1 − s).
func NoisyOR(scores ...float64) float64 {
	p := 1.0
	for _, s := range scores {
		p *= 1 - min(max(s, 0), 1)
	}
	return 1 - p
}
