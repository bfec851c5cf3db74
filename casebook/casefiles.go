package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/internal/glossary"
)

// Stamp names the data a stored case file was built from: the last
// committed ingest run and the last scan. A stored file is fresh while the
// stamp has not moved.
type Stamp struct {
	run, scan sql.NullInt64
}

// lastRun and lastScan are the current stamp in SQL.
const (
	lastRun  = `(SELECT max(run_id) FROM ingest_runs WHERE status = 'committed')`
	lastScan = `(SELECT max(scan_id) FROM scans)`
)

// Stamp reads the current stamp. A reader that knows no ingest or scan has
// written since may keep it (the API does, per data version) and pass it
// to FileAt.
func (s *Store) Stamp(ctx context.Context) (Stamp, error) {
	return readStamp(ctx, s.db)
}

func readStamp(ctx context.Context, q querier) (Stamp, error) {
	var st Stamp
	if err := q.QueryRowContext(ctx, `SELECT `+lastRun+`, `+lastScan).Scan(&st.run, &st.scan); err != nil {
		return st, fmt.Errorf("read the case files' stamp: %w", err)
	}
	return st, nil
}

// assembleFiles assembles the case files of ids (masked) from the tables
// with a handful of set-based queries, whatever their number. Cases that
// do not exist are absent from the map.
func assembleFiles(ctx context.Context, q querier, ids []string) (map[string]*CaseFile, error) {
	out := make(map[string]*CaseFile, len(ids))
	rows, err := q.QueryContext(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id IN (SELECT unnest(?::VARCHAR[]))`, ids)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	defer rows.Close()
	var keys []recordKey
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out[c.ID] = &CaseFile{Case: c, Flags: []CaseFlag{}, Reviews: []Review{}, Events: []Event{}}
		keys = append(keys, recordKey{caseID: c.ID, subjectType: c.SubjectType, subjectID: c.SubjectID, org: c.OrgCode})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(keys) == 0 {
		return out, nil
	}
	found := make([]string, len(keys))
	for i, k := range keys {
		found[i] = k.caseID
	}
	recs, err := buildRecords(ctx, q, keys)
	if err != nil {
		return nil, err
	}
	for id, r := range recs {
		f := out[id]
		f.Institution, f.Stay, f.Days, f.Outside = r.Institution, r.Stay, r.Days, r.Outside
	}
	if err := caseFlags(ctx, q, found, out); err != nil {
		return nil, err
	}
	if err := caseReviews(ctx, q, found, out); err != nil {
		return nil, err
	}
	if err := caseEventsOf(ctx, q, found, out); err != nil {
		return nil, err
	}
	srows, err := q.QueryContext(ctx, `SELECT case_id FROM case_samples WHERE case_id IN (SELECT unnest(?::VARCHAR[]))`, found)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	var sampled []string
	for srows.Next() {
		var id string
		if err := srows.Scan(&id); err != nil {
			return nil, err
		}
		sampled = append(sampled, id)
	}
	if err := srows.Err(); err != nil {
		return nil, err
	}
	srows.Close()
	for _, id := range sampled { // institution cases with a recovery sample: few
		if out[id].Sample, err = sampleOf(ctx, q, out[id].Case); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// caseFlags reads the flags of the cases ids, highest score first.
func caseFlags(ctx context.Context, q querier, ids []string, out map[string]*CaseFile) error {
	rows, err := q.QueryContext(ctx, `SELECT cf.case_id, f.flag_id, f.detector, f.family, f.score, f.amount_at_risk::VARCHAR, f.override_class,
		f.status, f.evidence::VARCHAR
		FROM case_flags cf JOIN flags f USING (flag_id) WHERE cf.case_id IN (SELECT unnest(?::VARCHAR[]))
		ORDER BY cf.case_id, f.score DESC, f.detector`, ids)
	if err != nil {
		return fmt.Errorf("read case flags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, amount, ev string
		var cf CaseFlag
		if err := rows.Scan(&id, &cf.FlagID, &cf.Detector, &cf.Family, &cf.Score, &amount, &cf.Override, &cf.Status, &ev); err != nil {
			return err
		}
		cf.Amount, cf.Evidence = fen(amount), json.RawMessage(ev)
		out[id].Flags = append(out[id].Flags, cf)
	}
	return rows.Err()
}

// caseReviews reads the assignments of the cases ids.
func caseReviews(ctx context.Context, q querier, ids []string, out map[string]*CaseFile) error {
	rows, err := q.QueryContext(ctx, `SELECT `+reviewColumns+`, case_id FROM assignments WHERE case_id IN (SELECT unnest(?::VARCHAR[]))
		ORDER BY case_id, round, assigned_at, expert_id`, ids)
	if err != nil {
		return fmt.Errorf("read reviews: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		r, err := scanReview(rows, &id)
		if err != nil {
			return err
		}
		out[id].Reviews = append(out[id].Reviews, r)
	}
	return rows.Err()
}

// caseEventsOf reads the audit trail of the cases ids.
func caseEventsOf(ctx context.Context, q querier, ids []string, out map[string]*CaseFile) error {
	rows, err := q.QueryContext(ctx, `SELECT seq, case_id, actor, kind, event_at, payload, prev_hash, hash FROM case_events
		WHERE case_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY seq`, ids)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Seq, &e.CaseID, &e.Actor, &e.Kind, &e.At, &e.Payload, &e.PrevHash, &e.Hash); err != nil {
			return err
		}
		e.At = glossary.CST(e.At)
		out[e.CaseID].Events = append(out[e.CaseID].Events, e)
	}
	return rows.Err()
}

// storeFiles assembles and stores the case files of ids inside tx, stamped
// with the ingest run and scan the transaction sees.
func storeFiles(ctx context.Context, tx *sql.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	st, err := readStamp(ctx, tx)
	if err != nil {
		return err
	}
	files, err := assembleFiles(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("assemble case files: %w", err)
	}
	keys, districts, bodies := make([]string, 0, len(files)), make([]string, 0, len(files)), make([]string, 0, len(files))
	for _, id := range ids {
		f, ok := files[id]
		if !ok {
			continue
		}
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		keys, districts, bodies = append(keys, id), append(districts, f.Case.District), append(bodies, string(b))
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO case_files (case_id, data_run, scan_id, district, file)
		SELECT unnest(?::VARCHAR[]), ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[])`,
		keys, st.run, st.scan, districts, bodies); err != nil {
		return fmt.Errorf("store case files: %w", err)
	}
	return nil
}

// storeTouchedFiles stores again the files of the cases that got an event
// after seq in tx: every change to a case appends one.
func storeTouchedFiles(ctx context.Context, tx *sql.Tx, seq int64) error {
	return storeFilesWhere(ctx, tx, `SELECT DISTINCT case_id FROM case_events WHERE seq > ? AND case_id IN (SELECT case_id FROM cases) ORDER BY 1`, seq)
}

// storeFilesWhere stores again the files of the cases query names.
func storeFilesWhere(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read changed cases: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	return storeFiles(ctx, tx, ids)
}

// refreshFiles stores again, a chunk per transaction, the case files that
// are missing or older than the last committed ingest run or scan.
func (s *Store) refreshFiles(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT c.case_id FROM cases c LEFT JOIN case_files f USING (case_id)
		WHERE f.case_id IS NULL OR f.data_run IS DISTINCT FROM `+lastRun+` OR f.scan_id IS DISTINCT FROM `+lastScan+` ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("read stale case files: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for len(ids) > 0 {
		chunk := ids[:min(openChunk, len(ids))]
		ids = ids[len(chunk):]
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return storeFiles(ctx, tx, chunk) }); err != nil {
			return err
		}
	}
	return nil
}

// StoredFile returns the stored case file of caseID as JSON (ID numbers
// and names masked: what an auditor reads) and its case's district, if it
// was built at stamp st; ok is false when there is none or it is stale.
func (s *Store) StoredFile(ctx context.Context, caseID string, st Stamp) (file []byte, district string, ok bool, err error) {
	stmt, err := s.fileLookup(ctx)
	if err != nil {
		return nil, "", false, err
	}
	var built Stamp
	var d sql.NullString
	// The key alone, so that DuckDB looks it up in the primary key's index;
	// the stamp is compared here.
	err = stmt.QueryRowContext(ctx, caseID).Scan(&file, &built.run, &built.scan, &d)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && built != st) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("stored case file %s: %w", caseID, err)
	}
	return file, d.String, true, nil
}

// fileLookup is the statement StoredFile runs, prepared once per store.
func (s *Store) fileLookup(ctx context.Context) (*sql.Stmt, error) {
	if stmt := s.lookup.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := s.db.PrepareContext(ctx, `SELECT encode(file), data_run, scan_id, district FROM case_files WHERE case_id = ?`)
	if err != nil {
		return nil, fmt.Errorf("prepare the case file lookup: %w", err)
	}
	if !s.lookup.CompareAndSwap(nil, stmt) {
		stmt.Close()
	}
	return s.lookup.Load(), nil
}

// storedFile is StoredFile decoded.
func (s *Store) storedFile(ctx context.Context, caseID string, st Stamp) (*CaseFile, bool, error) {
	body, _, ok, err := s.StoredFile(ctx, caseID, st)
	if err != nil || !ok {
		return nil, false, err
	}
	f := &CaseFile{}
	if err := json.Unmarshal(body, f); err != nil {
		return nil, false, fmt.Errorf("stored case file %s: %w", caseID, err)
	}
	f.inZone()
	return f, true, nil
}

// inZone gives the times of a file read from JSON the Asia/Shanghai
// location they were written with (zero times stay zero).
func (f *CaseFile) inZone() {
	ts := []*time.Time{&f.Case.OpenedAt, f.Case.DueAt}
	if f.Stay != nil {
		ts = append(ts, &f.Stay.AdmittedAt, f.Stay.DischargedAt)
	}
	for i := range f.Outside {
		ts = append(ts, &f.Outside[i].At)
	}
	for i := range f.Reviews {
		ts = append(ts, &f.Reviews[i].AssignedAt, &f.Reviews[i].DueAt, &f.Reviews[i].SubmittedAt)
	}
	for i := range f.Events {
		ts = append(ts, &f.Events[i].At)
	}
	if f.Sample != nil {
		ts = append(ts, &f.Sample.DrawnAt)
	}
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			*t = glossary.CST(*t)
		}
	}
}
