package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned for an unknown run, file or job.
var ErrNotFound = errors.New("not found")

// Run statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Run is one execution of a job, as listed by the API.
type Run struct {
	ID           int64      `json:"id"`
	Job          string     `json:"job"`
	Kind         Kind       `json:"kind"`
	ScheduledFor time.Time  `json:"scheduled_for"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	Status       string     `json:"status"`
	Error        string     `json:"error,omitempty"`
	Districts    []string   `json:"districts"` // empty: all
	Files        []FileInfo `json:"files"`
}

// FileInfo describes a stored report file.
type FileInfo struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
}

// File is a stored report file with its content.
type File struct {
	FileInfo
	Content []byte `json:"-"`
}

// Media types of report files.
const (
	MediaHTML = "text/html; charset=utf-8"
	MediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	MediaJSON = "application/json"
)

func newFile(name, media string, content []byte) File {
	sum := sha256.Sum256(content)
	return File{FileInfo: FileInfo{Name: name, MediaType: media, Bytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}, Content: content}
}

// List returns the latest runs, newest first, each with its files (none
// unless done); limit ≤ 0 means 100.
func List(ctx context.Context, db *sql.DB, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.QueryContext(ctx, `SELECT run_id, job, kind, scheduled_for, started_at, finished_at, status, coalesce(error, ''), districts
		FROM report_runs ORDER BY run_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list report runs: %w", err)
	}
	var out []Run
	byID := map[int64]int{}
	for rows.Next() {
		var r Run
		var fin sql.NullTime
		var districts string
		if err := rows.Scan(&r.ID, &r.Job, &r.Kind, &r.ScheduledFor, &r.StartedAt, &fin, &r.Status, &r.Error, &districts); err != nil {
			rows.Close()
			return nil, err
		}
		if fin.Valid {
			r.FinishedAt = &fin.Time
		}
		r.Districts = splitDistricts(districts)
		r.Files = []FileInfo{}
		byID[r.ID] = len(out)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	frows, err := db.QueryContext(ctx, `SELECT run_id, name, media_type, bytes, sha256 FROM report_files
		WHERE run_id >= ? ORDER BY run_id, name`, out[len(out)-1].ID)
	if err != nil {
		return nil, fmt.Errorf("list report files: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var id int64
		var f FileInfo
		if err := frows.Scan(&id, &f.Name, &f.MediaType, &f.Bytes, &f.SHA256); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			out[i].Files = append(out[i].Files, f)
		}
	}
	return out, frows.Err()
}

// GetFile returns one stored file of a run, or an error wrapping
// ErrNotFound.
func GetFile(ctx context.Context, db *sql.DB, runID int64, name string) (File, error) {
	var f File
	err := db.QueryRowContext(ctx, `SELECT name, media_type, bytes, sha256, content FROM report_files WHERE run_id = ? AND name = ?`,
		runID, name).Scan(&f.Name, &f.MediaType, &f.Bytes, &f.SHA256, &f.Content)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, fmt.Errorf("%w: report run %d has no file %q", ErrNotFound, runID, name)
	}
	if err != nil {
		return File{}, fmt.Errorf("read report file %d/%s: %w", runID, name, err)
	}
	return f, nil
}

func splitDistricts(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// begin records a 'running' marker in its own transaction and returns the
// run id.
func begin(ctx context.Context, db *sql.DB, job Job, scheduled, started time.Time) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) + 1 FROM report_runs`).Scan(&id); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_runs (run_id, job, kind, scheduled_for, started_at, status, districts)
		VALUES (?, ?, ?, ?, ?, 'running', ?)`, id, job.Name, string(job.Kind), scheduled, started, strings.Join(job.Districts, ",")); err != nil {
		return 0, fmt.Errorf("record report run: %w", err)
	}
	return id, tx.Commit()
}

// finish stores every file of the run and marks it done, in one
// transaction.
func finish(ctx context.Context, db *sql.DB, id int64, files []File, inputs []byte, at time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_files VALUES (?, ?, ?, ?, ?, ?)`,
			id, f.Name, f.MediaType, f.Content, f.SHA256, f.Bytes); err != nil {
			return fmt.Errorf("store report file %s: %w", f.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE report_runs SET status = 'done', finished_at = ?, inputs = ?::JSON WHERE run_id = ?`,
		at, string(inputs), id); err != nil {
		return err
	}
	return tx.Commit()
}

// fail marks a run failed with the error; it runs even when ctx is
// cancelled.
func fail(ctx context.Context, db *sql.DB, id int64, cause error, at time.Time) error {
	_, err := db.ExecContext(context.WithoutCancel(ctx), `UPDATE report_runs SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ?`,
		at, cause.Error(), id)
	return err
}

// markInterrupted fails every run still 'running': at start-up they were
// cut short by a crash or a kill (one process writes the database).
func markInterrupted(ctx context.Context, db *sql.DB, at time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE report_runs SET status = 'failed', finished_at = ?,
		error = 'interrupted: the service stopped during the run' WHERE status = 'running'`, at)
	if err != nil {
		return 0, fmt.Errorf("mark interrupted report runs: %w", err)
	}
	return res.RowsAffected()
}

// done reports whether the job has a done run for the occurrence.
func done(ctx context.Context, db *sql.DB, job string, scheduled time.Time) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM report_runs WHERE job = ? AND scheduled_for = ? AND status = 'done'`, job, scheduled).Scan(&n)
	return n > 0, err
}
