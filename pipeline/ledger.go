package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Run is one recorded ingest run with its per-file ledger.
type Run struct {
	RunID      int64         `json:"run_id"`
	BatchID    string        `json:"batch_id"`
	Dir        string        `json:"dir"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
	Status     string        `json:"status"`
	Error      string        `json:"error,omitempty"`
	Files      []FileSummary `json:"files"`
}

// Runs returns the most recent ingest runs, newest first, with their ledgers.
func Runs(ctx context.Context, db *DB, limit int) ([]Run, error) {
	return listRuns(ctx, db, "", limit)
}

// BatchRuns returns the ingest runs of one batch, newest first.
func BatchRuns(ctx context.Context, db *DB, batchID string) ([]Run, error) {
	return listRuns(ctx, db, batchID, 1000)
}

func listRuns(ctx context.Context, db *DB, batchID string, limit int) ([]Run, error) {
	rows, err := db.QueryContext(ctx, `SELECT run_id, batch_id, dir, started_at, finished_at, status, coalesce(error, '')
		FROM ingest_runs WHERE ? = '' OR batch_id = ? ORDER BY run_id DESC LIMIT ?`, batchID, batchID, limit)
	if err != nil {
		return nil, fmt.Errorf("list ingest runs: %w", err)
	}
	var runs []Run
	index := map[int64]int{}
	for rows.Next() {
		var r Run
		if err := rows.Scan(&r.RunID, &r.BatchID, &r.Dir, &r.StartedAt, &r.FinishedAt, &r.Status, &r.Error); err != nil {
			rows.Close()
			return nil, err
		}
		index[r.RunID] = len(runs)
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return runs, nil
	}
	lrows, err := db.QueryContext(ctx, `SELECT run_id, file, table_name, format, read, loaded, quarantined, unchanged, corrected, warnings,
			void, coalesce(layout, ''), coalesce(encoding, ''), coalesce(delimiter, ''), coalesce(quote, '')
		FROM batch_ledger WHERE run_id BETWEEN ? AND ? ORDER BY run_id, rowid`, runs[len(runs)-1].RunID, runs[0].RunID)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var id int64
		var f FileSummary
		var d Dialect
		if err := lrows.Scan(&id, &f.File, &f.Table, &f.Format, &f.Read, &f.Loaded, &f.Quarantined, &f.Unchanged, &f.Corrected, &f.Warnings,
			&f.Void, &f.Layout, &d.Encoding, &d.Delimiter, &d.Quote); err != nil {
			return nil, err
		}
		if d != (Dialect{}) {
			f.Dialect = &d
		}
		if i, ok := index[id]; ok {
			runs[i].Files = append(runs[i].Files, f)
		}
	}
	return runs, lrows.Err()
}

// QuarantineReason is one quarantined row without its raw content.
type QuarantineReason struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// QuarantineReasons lists the quarantined rows of a batch by file and line,
// without the raw rows (they may hold personal data).
func QuarantineReasons(ctx context.Context, db *DB, batchID string, limit, offset int) ([]QuarantineReason, int64, error) {
	var total int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM quarantine WHERE batch_id = ?`, batchID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT file, line, coalesce(column_name, ''), reason FROM quarantine
		WHERE batch_id = ? ORDER BY file, line LIMIT ? OFFSET ?`, batchID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []QuarantineReason{}
	for rows.Next() {
		var q QuarantineReason
		if err := rows.Scan(&q.File, &q.Line, &q.Column, &q.Reason); err != nil {
			return nil, 0, err
		}
		out = append(out, q)
	}
	return out, total, rows.Err()
}
