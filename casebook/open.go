package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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
	if err := s.refreshFiles(ctx); err != nil {
		return sum, err
	}
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
	in := openInputs{actor: actor, prec: prec, records: records, districts: districts}
	for len(keys) > 0 {
		n := min(openChunk, len(keys))
		chunk := make([]*subjectFlags, n)
		for i, k := range keys[:n] {
			chunk[i] = subjects[k]
		}
		keys = keys[n:]
		var part OpenSummary
		err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
			part, err = s.openChunk(ctx, tx, chunk, in)
			return err
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
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func pendingFlags(ctx context.Context, tx querier) (map[string]*subjectFlags, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+flagRefColumns+`, f.subject_type, f.subject_id, coalesce(f.org_code, '')
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
		var st, sid, org string
		if err := f.scan(rows, &st, &sid, &org); err != nil {
			return nil, err
		}
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

// flagRefColumns are the columns FlagRef.scan reads first, of flags f.
const flagRefColumns = `f.flag_id, f.detector, f.family, f.score, f.amount_at_risk::VARCHAR, f.override_class`

// scan reads flagRefColumns, then extra columns into extra.
func (f *FlagRef) scan(rows *sql.Rows, extra ...any) error {
	var amount, oc string
	if err := rows.Scan(append([]any{&f.FlagID, &f.Detector, &f.Family, &f.Score, &amount, &oc}, extra...)...); err != nil {
		return err
	}
	a, err := contract.ParseDecimal(amount, 2)
	if err != nil {
		return err
	}
	f.Amount, f.Clinical = contract.Fen(a), oc == "clinical"
	return nil
}

// openInputs is what every chunk of OpenCases reads.
type openInputs struct {
	actor     string
	prec      map[string]float64
	records   map[string]settlementRecord
	districts map[string]string
}

// caseRows are the columns of the cases a chunk opens or updates, one
// slice per column, bound as lists and unnested into set-based writes.
type caseRows struct {
	id, subjectType, subjectID, org, district, families, amount, route, specialty []string
	priority                                                                      []float64
	at, due                                                                       []time.Time
}

func (r *caseRows) add(id, subjectType, subjectID, org, district, families, amount, route, specialty string, priority float64, at, due time.Time) {
	r.id, r.subjectType, r.subjectID = append(r.id, id), append(r.subjectType, subjectType), append(r.subjectID, subjectID)
	r.org, r.district, r.families = append(r.org, org), append(r.district, district), append(r.families, families)
	r.amount, r.route, r.specialty = append(r.amount, amount), append(r.route, route), append(r.specialty, specialty)
	r.priority, r.at, r.due = append(r.priority, priority), append(r.at, at), append(r.due, due)
}

// openChunk opens the cases of one chunk of subjects inside tx: it reads
// the chunk's existing cases and their flags in two queries, works out
// every case in Go (priority, route, specialty, the chained events) and
// writes them with one statement per table: the flag links, the new cases,
// the updated ones, the reopened ones, the events and the trail's head
// (inTx then stores the case files of the chunk).
func (s *Store) openChunk(ctx context.Context, tx *sql.Tx, chunk []*subjectFlags, in openInputs) (OpenSummary, error) {
	var sum OpenSummary
	ids := make([]string, len(chunk))
	for i, sf := range chunk {
		ids[i] = CaseID(sf.subjectType, sf.subjectID)
	}
	states, old, err := existingCases(ctx, tx, ids)
	if err != nil {
		return sum, err
	}
	var (
		linkCase, linkFlag []string
		opened, updated    caseRows
		reopened           []string
		reopenDue          []time.Time
		events             []Event
	)
	event := func(id, kind string, at time.Time, payload any) error {
		body, err := json.Marshal(payload)
		events = append(events, Event{CaseID: id, Actor: in.actor, Kind: kind, At: at, Payload: string(body)})
		return err
	}
	for i, sf := range chunk {
		id := ids[i]
		sum.Flags += len(sf.flags)
		org := ""
		for _, o := range sortedKeys(sf.orgs) {
			if org == "" || sf.orgs[o] > sf.orgs[org] {
				org = o
			}
		}
		state, exists := states[id]
		// A case's flags are its old ones plus the new.
		flags := append(slices.Clone(old[id]), sf.flags...)
		var amount contract.Fen
		var fams []string
		for _, f := range flags {
			amount = max(amount, f.Amount) // flags on one subject overlap: the largest stands
			if !slices.Contains(fams, f.Family) {
				fams = append(fams, f.Family)
			}
		}
		slices.Sort(fams)
		rec := in.records[sf.subjectID]
		priority := s.Priority.Priority(amount, flags, in.prec, rec.Diagnosis, rec.medType)
		route := Route(flags)
		specialty := Specialty(rec.Record)
		now := s.now()
		flagIDs := make([]string, len(sf.flags))
		for j, f := range sf.flags {
			flagIDs[j] = f.FlagID
			linkCase, linkFlag = append(linkCase, id), append(linkFlag, f.FlagID)
		}
		payload := map[string]any{"flags": flagIDs, "amount_at_risk": amount.String(), "priority": priority, "route": route, "specialty": specialty}
		if !exists {
			sum.Opened++
			opened.add(id, sf.subjectType, sf.subjectID, org, in.districts[org], strings.Join(fams, ","), amount.String(), route, specialty,
				priority, now, s.Limits.Due(Open, now))
			if err := event(id, "opened", now, payload); err != nil {
				return sum, err
			}
			continue
		}
		sum.Updated++
		updated.add(id, "", "", "", "", strings.Join(fams, ","), amount.String(), route, "", priority, now, time.Time{})
		if err := event(id, "flags_added", now, payload); err != nil {
			return sum, err
		}
		if state == Closed {
			sum.Reopened++
			reopened, reopenDue = append(reopened, id), append(reopenDue, s.Limits.Due(Open, now))
			if err := event(id, "reopened", now, map[string]any{"from": Closed, "to": Open}); err != nil {
				return sum, err
			}
		}
	}
	writes := []struct {
		n    int
		what string
		sql  string
		args []any
	}{
		{len(linkCase), "link flags", `INSERT INTO case_flags SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])`, []any{linkCase, linkFlag}},
		{len(opened.id), "open cases", `INSERT INTO cases (case_id, subject_type, subject_id, org_code, district, families, amount_at_risk,
			priority, route, specialty, state, opened_at, updated_at, due_at)
			SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
				unnest(?::VARCHAR[]), unnest(?::VARCHAR[])::DECIMAL(18,2), unnest(?::DOUBLE[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
				'open', unnest(?::TIMESTAMP[]) AS opened, opened, unnest(?::TIMESTAMP[])`,
			[]any{opened.id, opened.subjectType, opened.subjectID, opened.org, opened.district, opened.families, opened.amount,
				opened.priority, opened.route, opened.specialty, opened.at, opened.due}},
		{len(updated.id), "update cases", `UPDATE cases SET families = u.families, amount_at_risk = u.amount, priority = u.priority,
			route = u.route, updated_at = u.updated
			FROM (SELECT unnest(?::VARCHAR[]) AS case_id, unnest(?::VARCHAR[]) AS families, unnest(?::VARCHAR[])::DECIMAL(18,2) AS amount,
				unnest(?::DOUBLE[]) AS priority, unnest(?::VARCHAR[]) AS route, unnest(?::TIMESTAMP[]) AS updated) u
			WHERE cases.case_id = u.case_id`,
			[]any{updated.id, updated.families, updated.amount, updated.priority, updated.route, updated.at}},
		{len(reopened), "reopen cases", `UPDATE cases SET state = 'open', due_at = u.due
			FROM (SELECT unnest(?::VARCHAR[]) AS case_id, unnest(?::TIMESTAMP[]) AS due) u WHERE cases.case_id = u.case_id`,
			[]any{reopened, reopenDue}},
	}
	for _, w := range writes {
		if w.n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, w.sql, w.args...); err != nil {
			return sum, fmt.Errorf("%s: %w", w.what, err)
		}
	}
	return sum, appendEvents(ctx, tx, events)
}

// existingCases reads the state and the flags of the cases among ids that
// exist already.
func existingCases(ctx context.Context, tx *sql.Tx, ids []string) (map[string]State, map[string][]FlagRef, error) {
	states := map[string]State{}
	rows, err := tx.QueryContext(ctx, `SELECT case_id, state FROM cases WHERE case_id IN (SELECT unnest(?::VARCHAR[]))`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("read cases: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var id string
		var st State
		if err := rows.Scan(&id, &st); err != nil {
			return nil, nil, err
		}
		states[id] = st
		found = append(found, id)
	}
	if err := rows.Err(); err != nil || len(found) == 0 {
		return states, nil, err
	}
	frows, err := tx.QueryContext(ctx, `SELECT `+flagRefColumns+`, cf.case_id FROM case_flags cf JOIN flags f USING (flag_id)
		WHERE cf.case_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY cf.case_id, f.flag_id`, found)
	if err != nil {
		return nil, nil, fmt.Errorf("read case flags: %w", err)
	}
	defer frows.Close()
	old := map[string][]FlagRef{}
	for frows.Next() {
		var f FlagRef
		var id string
		if err := f.scan(frows, &id); err != nil {
			return nil, nil, err
		}
		old[id] = append(old[id], f)
	}
	return states, old, frows.Err()
}
