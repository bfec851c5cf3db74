package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/medaudit/medaudit/contract"
)

// OpenSummary counts what OpenCases did.
type OpenSummary struct {
	Opened   int `json:"opened"`
	Updated  int `json:"updated"`
	Reopened int `json:"reopened"`
	Flags    int `json:"flags"`
}

type subjectFlags struct {
	subjectType, subjectID string
	orgs                   map[string]int
	flags                  []FlagRef
}

// OpenCases turns the open flags of active detectors that belong to no case
// yet into cases, one per subject: a new subject opens a case; flags on a
// subject with a case are added to it (a closed case is reopened). Flags of
// detectors in shadow mode open nothing. Subjects are opened openChunk at a
// time, each chunk in one transaction: a case is written whole (its flags,
// its row, its event) or not at all, a crash loses at most the chunk in
// progress, and running it again opens what is still pending. One
// transaction for every case grew DuckDB's memory by about half a megabyte
// a case (4.4 GB for the 8,772 cases of a 1-million-person batch).
func (s *Store) OpenCases(ctx context.Context, actor string) (OpenSummary, error) {
	return s.openCases(ctx, actor, nil)
}

// OpenCasesIn is OpenCases for the subjects whose flags are all at
// institutions of the given districts: what a scan started by a user of
// those districts may open. Other flags wait for a scan by a user of
// theirs (or of every district).
func (s *Store) OpenCasesIn(ctx context.Context, actor string, allowed []string) (OpenSummary, error) {
	return s.openCases(ctx, actor, allowed)
}

// openCases opens cases for the pending flags, of the allowed districts
// only when allowed is not nil.
func (s *Store) openCases(ctx context.Context, actor string, allowed []string) (OpenSummary, error) {
	openMu.Lock() // the pending flags read below must not be opened twice
	defer openMu.Unlock()
	var sum OpenSummary
	subjects, err := pendingFlags(ctx, s.db)
	if err != nil {
		return sum, err
	}
	if len(subjects) == 0 {
		return sum, nil
	}
	prec, _, err := s.RulePrecision(ctx)
	if err != nil {
		return sum, err
	}
	records, err := settlementRecords(ctx, s.db)
	if err != nil {
		return sum, err
	}
	districts, err := OrgDistricts(ctx, s.db)
	if err != nil {
		return sum, err
	}
	keys := sortedKeys(subjects)
	if allowed != nil {
		keys = slices.DeleteFunc(keys, func(k string) bool {
			orgs := subjects[k].orgs
			if len(orgs) == 0 {
				return true
			}
			for org := range orgs {
				if !slices.Contains(allowed, districts[org]) {
					return true
				}
			}
			return false
		})
	}
	for len(keys) > 0 {
		chunk := keys[:min(openChunk, len(keys))]
		keys = keys[len(chunk):]
		var part OpenSummary
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			part = OpenSummary{}
			for _, key := range chunk {
				sf := subjects[key]
				part.Flags += len(sf.flags)
				if err := s.openOne(ctx, tx, actor, sf, prec, records, districts, &part); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sum, err
		}
		sum.Opened, sum.Updated, sum.Reopened, sum.Flags = sum.Opened+part.Opened, sum.Updated+part.Updated, sum.Reopened+part.Reopened, sum.Flags+part.Flags
	}
	return sum, nil
}

// openMu serialises OpenCases in the process (the one that writes).
var openMu sync.Mutex

// openChunk is how many subjects one transaction of OpenCases opens.
const openChunk = 500

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func pendingFlags(ctx context.Context, tx querier) (map[string]*subjectFlags, error) {
	rows, err := tx.QueryContext(ctx, `SELECT f.flag_id, f.detector, f.family, f.subject_type, f.subject_id, coalesce(f.org_code, ''),
		f.score, f.amount_at_risk::VARCHAR, f.override_class
		FROM flags f LEFT JOIN rule_settings r USING (detector)
		WHERE f.status = 'open' AND coalesce(r.mode, 'active') = 'active'
		  AND NOT EXISTS (SELECT 1 FROM case_flags cf WHERE cf.flag_id = f.flag_id)
		ORDER BY f.subject_type, f.subject_id, f.detector`)
	if err != nil {
		return nil, fmt.Errorf("read flags: %w", err)
	}
	defer rows.Close()
	out := map[string]*subjectFlags{}
	for rows.Next() {
		var f FlagRef
		var st, sid, org, amount, oc string
		if err := rows.Scan(&f.FlagID, &f.Detector, &f.Family, &st, &sid, &org, &f.Score, &amount, &oc); err != nil {
			return nil, err
		}
		a, err := contract.ParseDecimal(amount, 2)
		if err != nil {
			return nil, err
		}
		f.Amount, f.Clinical = contract.Fen(a), oc == "clinical"
		key := st + "\x00" + sid
		sf, ok := out[key]
		if !ok {
			sf = &subjectFlags{subjectType: st, subjectID: sid, orgs: map[string]int{}}
			out[key] = sf
		}
		sf.flags = append(sf.flags, f)
		if org != "" {
			sf.orgs[org]++
		}
	}
	return out, rows.Err()
}

type settlementRecord struct {
	Record
	medType string
}

// settlementRecords reads the routing features of the flagged settlements.
func settlementRecords(ctx context.Context, tx querier) (map[string]settlementRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT s.settlement_id, coalesce(s.diagnosis_code, ''), coalesce(s.med_type, ''),
		coalesce(bool_or(f.category = 'surgery'), false),
		coalesce(bool_or(f.category = 'material' AND f.item_name LIKE '%骨%'), false),
		coalesce(bool_or(f.item_name LIKE '%康复%'), false)
		FROM settlements s LEFT JOIN fee_items f USING (settlement_id)
		WHERE s.settlement_id IN (SELECT subject_id FROM flags WHERE status = 'open' AND subject_type = 'settlement')
		GROUP BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("read flagged records: %w", err)
	}
	defer rows.Close()
	out := map[string]settlementRecord{}
	for rows.Next() {
		var id string
		var r settlementRecord
		if err := rows.Scan(&id, &r.Diagnosis, &r.medType, &r.Surgery, &r.OrthoImplant, &r.RehabService); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

// OrgDistricts maps every institution to its district (region code).
func OrgDistricts(ctx context.Context, tx querier) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT org_code, region_code FROM institutions`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var org, region string
		if err := rows.Scan(&org, &region); err != nil {
			return nil, err
		}
		out[org] = region
	}
	return out, rows.Err()
}

func (s *Store) openOne(ctx context.Context, tx *sql.Tx, actor string, sf *subjectFlags, prec map[string]float64,
	records map[string]settlementRecord, districts map[string]string, sum *OpenSummary) error {
	id := CaseID(sf.subjectType, sf.subjectID)
	org := ""
	for _, o := range sortedKeys(sf.orgs) {
		if org == "" || sf.orgs[o] > sf.orgs[org] {
			org = o
		}
	}
	c, err := s.get(ctx, tx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// A case's flags are its old ones plus the new.
	flags := sf.flags
	if exists {
		old, err := caseFlagRefs(ctx, tx, id)
		if err != nil {
			return err
		}
		flags = append(old, flags...)
	}
	var amount contract.Fen
	var fams []string
	for _, f := range flags {
		amount = max(amount, f.Amount) // flags on one subject overlap: the largest stands
		if !slices.Contains(fams, f.Family) {
			fams = append(fams, f.Family)
		}
	}
	slices.Sort(fams)
	rec := records[sf.subjectID]
	priority := s.Priority.Priority(amount, flags, prec, rec.Diagnosis, rec.medType)
	route := Route(flags)
	specialty := Specialty(rec.Record)
	now := s.now()
	for _, f := range sf.flags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_flags VALUES (?, ?)`, id, f.FlagID); err != nil {
			return err
		}
	}
	ids := make([]string, len(sf.flags))
	for i, f := range sf.flags {
		ids[i] = f.FlagID
	}
	payload := map[string]any{"flags": ids, "amount_at_risk": amount.String(), "priority": priority, "route": route, "specialty": specialty}
	if !exists {
		sum.Opened++
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (case_id, subject_type, subject_id, org_code, district, families, amount_at_risk,
			priority, route, specialty, state, opened_at, updated_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?::DECIMAL(18,2), ?, ?, ?, 'open', ?, ?, ?)`,
			id, sf.subjectType, sf.subjectID, org, districts[org], strings.Join(fams, ","), amount.String(), priority, route, specialty,
			now, now, s.Limits.Due(Open, now)); err != nil {
			return fmt.Errorf("open case %s: %w", id, err)
		}
		return appendEvent(ctx, tx, id, actor, "opened", now, payload)
	}
	sum.Updated++
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET families = ?, amount_at_risk = ?::DECIMAL(18,2), priority = ?, route = ?, updated_at = ?
		WHERE case_id = ?`, strings.Join(fams, ","), amount.String(), priority, route, now, id); err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, id, actor, "flags_added", now, payload); err != nil {
		return err
	}
	if c.State == Closed {
		sum.Reopened++
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET state = 'open', due_at = ? WHERE case_id = ?`, s.Limits.Due(Open, now), id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, id, actor, "reopened", now, map[string]any{"from": Closed, "to": Open})
	}
	return nil
}

func caseFlagRefs(ctx context.Context, tx *sql.Tx, caseID string) ([]FlagRef, error) {
	rows, err := tx.QueryContext(ctx, `SELECT f.flag_id, f.detector, f.family, f.score, f.amount_at_risk::VARCHAR, f.override_class
		FROM case_flags cf JOIN flags f USING (flag_id) WHERE cf.case_id = ? ORDER BY f.flag_id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FlagRef
	for rows.Next() {
		var f FlagRef
		var amount, oc string
		if err := rows.Scan(&f.FlagID, &f.Detector, &f.Family, &f.Score, &amount, &oc); err != nil {
			return nil, err
		}
		a, err := contract.ParseDecimal(amount, 2)
		if err != nil {
			return nil, err
		}
		f.Amount, f.Clinical = contract.Fen(a), oc == "clinical"
		out = append(out, f)
	}
	return out, rows.Err()
}
