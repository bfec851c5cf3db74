package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// SampleConfidence is the confidence of the extrapolated recovery's interval.
const SampleConfidence = 0.9

// CaseSample is a case's stored recovery sample as the case file shows it:
// the seed, the strata, every drawn claim with what was found in it, and the
// extrapolated over-payment once findings are recorded.
type CaseSample struct {
	Seed     uint64          `json:"seed"`
	Size     int             `json:"size"` // requested; len(Claims) were drawn
	DrawnAt  time.Time       `json:"drawn_at"`
	Strata   []SampleStratum `json:"strata"`
	Claims   []SampleClaim   `json:"claims"`
	Estimate *Estimate       `json:"estimate,omitempty"` // nil until findings are recorded
}

// SampleStratum is one stratum: units in the frame (N_h) and drawn (n_h).
type SampleStratum struct {
	Name  string `json:"name"`
	Frame int    `json:"frame"`
	Drawn int    `json:"drawn"`
}

// SampleClaim is one drawn claim.
type SampleClaim struct {
	SettlementID string        `json:"settlement_id"`
	Stratum      string        `json:"stratum"`
	Paid         contract.Fen  `json:"paid"`            // fund + account
	Found        *contract.Fen `json:"found,omitempty"` // over-payment found, once recorded
}

// SampleOf returns the case's sample, or nil when none was drawn. The drawn
// claims are redrawn from the stored seed and frame, as RecordSampleFindings
// does.
func (s *Store) SampleOf(ctx context.Context, caseID string) (*CaseSample, error) {
	c, err := s.Get(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return sampleOf(ctx, s.db, c)
}

// sampleOf is SampleOf for case c, read through q.
func sampleOf(ctx context.Context, q querier, c Case) (*CaseSample, error) {
	caseID := c.ID
	var out CaseSample
	var found sql.NullString
	var est, low, high sql.NullString
	err := q.QueryRowContext(ctx, `SELECT seed, size, created_at, found, estimate::VARCHAR, low::VARCHAR, high::VARCHAR
		FROM case_samples WHERE case_id = ?`, caseID).Scan(&out.Seed, &out.Size, &out.DrawnAt, &found, &est, &low, &high)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sample of %s: %w", caseID, err)
	}
	out.DrawnAt = glossary.CST(out.DrawnAt)
	frame, err := samplingFrame(ctx, q, c.SubjectID)
	if err != nil {
		return nil, err
	}
	sample, err := StratifiedSample(frame, out.Size, out.Seed)
	if err != nil {
		return nil, err
	}
	var amounts map[string]contract.Fen
	if found.Valid {
		if err := json.Unmarshal([]byte(found.String), &amounts); err != nil {
			return nil, fmt.Errorf("sample findings of %s: %w", caseID, err)
		}
	}
	paid := map[string]contract.Fen{}
	for _, u := range frame {
		paid[u.ID] = u.Paid
	}
	for _, name := range sortedKeys(sample.Strata) {
		out.Strata = append(out.Strata, SampleStratum{Name: name, Frame: sample.Strata[name], Drawn: sample.Drawn[name]})
	}
	for _, id := range sample.Selected {
		cl := SampleClaim{SettlementID: id, Stratum: sample.stratum[id], Paid: paid[id]}
		if a, ok := amounts[id]; ok {
			cl.Found = &a
		}
		out.Claims = append(out.Claims, cl)
	}
	if est.Valid {
		out.Estimate = &Estimate{Total: fen(est.String), Low: fen(low.String), High: fen(high.String), Confidence: SampleConfidence}
	}
	return &out, nil
}
