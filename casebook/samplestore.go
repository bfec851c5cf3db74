package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/medaudit/medaudit/contract"
)

// stratum puts a claim in a sampling stratum: visit type × paid band.
func stratum(visitType string, paid contract.Fen) string {
	switch {
	case paid >= 10_000_00:
		return visitType + "/≥10000"
	case paid >= 1_000_00:
		return visitType + "/1000-9999"
	}
	return visitType + "/<1000"
}

// DrawSample draws, for an institution case, a seeded stratified sample of
// the institution's settlements for record pull and stores it with the seed
// and the requested size n (the drawn count can differ from n by the
// per-stratum rounding; redrawing with n and the seed gives the same claims).
func (s *Store) DrawSample(ctx context.Context, caseID, actor string, n int, seed uint64) (Sample, error) {
	var out Sample
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if c.SubjectType != contract.SubjectInstitution {
			return fmt.Errorf("case %s is about a %s; samples are drawn for institution cases", caseID, c.SubjectType)
		}
		frame, err := samplingFrame(ctx, tx, c.SubjectID)
		if err != nil {
			return err
		}
		if len(frame) == 0 {
			return fmt.Errorf("institution %s has no settlements to sample", c.SubjectID)
		}
		if out, err = StratifiedSample(frame, n, seed); err != nil {
			return err
		}
		fj, _ := json.Marshal(out.Strata)
		dj, _ := json.Marshal(out.Drawn)
		sj, _ := json.Marshal(out.Selected)
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_samples (case_id, seed, size, frame, drawn, selected, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, caseID, seed, n, string(fj), string(dj), string(sj), now); err != nil {
			return fmt.Errorf("store sample of %s: %w", caseID, err)
		}
		return appendEvent(ctx, tx, caseID, actor, "sample_drawn", now, map[string]any{"seed": seed, "size": len(out.Selected), "strata": out.Strata})
	})
	return out, err
}

// RecordSampleFindings stores the over-payment found in each reviewed
// sampled claim and the extrapolated recovery with its 90 % interval. The
// sample is redrawn from its stored seed, so it cannot drift.
func (s *Store) RecordSampleFindings(ctx context.Context, caseID, actor string, found map[string]contract.Fen) (Estimate, error) {
	var est Estimate
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var seed uint64
		var size int
		if err := tx.QueryRowContext(ctx, `SELECT seed, size FROM case_samples WHERE case_id = ?`, caseID).Scan(&seed, &size); err != nil {
			return fmt.Errorf("case %s has no sample: %w", caseID, ErrNotFound)
		}
		c, err := s.get(ctx, tx, caseID)
		if err != nil {
			return err
		}
		frame, err := samplingFrame(ctx, tx, c.SubjectID)
		if err != nil {
			return err
		}
		sample, err := StratifiedSample(frame, size, seed)
		if err != nil {
			return err
		}
		if est, err = Extrapolate(sample, found, SampleConfidence); err != nil {
			return err
		}
		fj, _ := json.Marshal(found)
		if _, err := tx.ExecContext(ctx, `UPDATE case_samples SET estimate = ?::DECIMAL(18,2), low = ?::DECIMAL(18,2), high = ?::DECIMAL(18,2), found = ?
			WHERE case_id = ?`, est.Total.String(), est.Low.String(), est.High.String(), string(fj), caseID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, caseID, actor, "sample_findings", s.now(), map[string]any{"estimate": est})
	})
	return est, err
}

// samplingFrame is every settlement of an institution, stratified.
func samplingFrame(ctx context.Context, q querier, org string) ([]Unit, error) {
	rows, err := q.QueryContext(ctx, `SELECT settlement_id, visit_type, (fund_paid + account_paid)::VARCHAR FROM settlements
		WHERE org_code = ? ORDER BY settlement_id`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var frame []Unit
	for rows.Next() {
		var u Unit
		var vt, paid string
		if err := rows.Scan(&u.ID, &vt, &paid); err != nil {
			return nil, err
		}
		u.Paid = fen(paid)
		u.Stratum = stratum(vt, u.Paid)
		frame = append(frame, u)
	}
	return frame, rows.Err()
}
