package detectors

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"
)

// ScanSummary is the result of one scan.
type ScanSummary struct {
	ScanID    int64          `json:"scan_id"`
	Detectors int            `json:"detectors"`
	Flags     map[string]int `json:"flags"` // per family, open flags raised by this scan
	New       int            `json:"new"`
	Resolved  int            `json:"resolved"`
	Seconds   float64        `json:"seconds"`
	// Policy is the settlement policy file the recompute checks used and the
	// share of settlements it covers; nil when no such check ran.
	Policy *PolicyCoverage `json:"policy,omitempty"`
}

// FlagID is the stable id of the flag of a detector on a subject.
func FlagID(detector, subjectType, subjectID string) string {
	h := sha256.Sum256([]byte(detector + "\x00" + subjectType + "\x00" + subjectID))
	return "F" + hex.EncodeToString(h[:8])
}

// Scan runs the detectors over db and stores their flags in one
// transaction: a flag raised again keeps its id and gets the new score and
// evidence; a new one is added; an open flag of a detector that ran and no
// longer raises it is marked resolved.
func Scan(ctx context.Context, db *sql.DB, ds []Detector, now func() time.Time) (ScanSummary, error) {
	start := now()
	sum := ScanSummary{Detectors: len(ds), Flags: map[string]int{}}
	if len(ds) == 0 {
		return sum, errors.New("no detectors registered")
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(scan_id), 0) + 1 FROM scans`).Scan(&sum.ScanID); err != nil {
		return sum, fmt.Errorf("next scan id: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO scans VALUES (?, ?, NULL, 'running', ?, NULL)`, sum.ScanID, start, len(ds)); err != nil {
		return sum, err
	}
	fail := func(err error) (ScanSummary, error) {
		conn.ExecContext(context.WithoutCancel(ctx), `UPDATE scans SET status = 'failed', finished_at = ?, error = ? WHERE scan_id = ?`,
			now(), err.Error(), sum.ScanID)
		return sum, err
	}

	tmp, err := os.CreateTemp("", "medaudit-flags-*.jsonl")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	type timing struct {
		name    string
		flags   int
		seconds float64
	}
	var timings []timing
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		t0 := time.Now()
		flags, err := d.Detect(ctx, conn)
		if err != nil {
			return fail(fmt.Errorf("detector %s: %w", d.Name(), err))
		}
		sort.Slice(flags, func(i, j int) bool { return flags[i].SubjectID < flags[j].SubjectID })
		for i := range flags {
			f := &flags[i]
			if f.Detector != d.Name() {
				return fail(fmt.Errorf("detector %s returned a flag named %s", d.Name(), f.Detector))
			}
			if err := f.Validate(); err != nil {
				return fail(err)
			}
			ev, err := json.Marshal(f.Evidence)
			if err != nil {
				return fail(fmt.Errorf("evidence of %s on %s: %w", f.Detector, f.SubjectID, err))
			}
			if err := enc.Encode(map[string]any{
				"flag_id": FlagID(f.Detector, f.SubjectType, f.SubjectID), "detector": f.Detector, "family": f.Family,
				"subject_type": f.SubjectType, "subject_id": f.SubjectID, "org_code": f.OrgCode, "score": f.Score,
				"amount_at_risk": f.AmountAtRisk.String(), "override_class": string(f.Override), "evidence": string(ev),
			}); err != nil {
				return fail(err)
			}
		}
		timings = append(timings, timing{d.Name(), len(flags), time.Since(t0).Seconds()})
		names = append(names, "'"+strings.ReplaceAll(d.Name(), "'", "''")+"'")
		slog.Info("detector done", "detector", timings[len(timings)-1].name, "flags", len(flags), "seconds", time.Since(t0).Seconds())
	}
	if err := errors.Join(w.Flush(), tmp.Close()); err != nil {
		return fail(err)
	}
	for _, d := range ds {
		if u, ok := d.(PolicyUser); ok {
			cov, err := Coverage(ctx, conn, u.Policies())
			if err != nil {
				return fail(err)
			}
			sum.Policy = &cov
			break
		}
	}

	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fail(err)
	}
	rollback := func(err error) (ScanSummary, error) {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fail(err)
	}
	steps := []struct {
		what string
		q    string
		n    *int
	}{
		{"read flags", `CREATE OR REPLACE TEMP TABLE new_flags AS SELECT * FROM read_json(?, format = 'newline_delimited', columns = {
			flag_id: 'VARCHAR', detector: 'VARCHAR', family: 'VARCHAR', subject_type: 'VARCHAR', subject_id: 'VARCHAR',
			org_code: 'VARCHAR', score: 'DOUBLE', amount_at_risk: 'DECIMAL(18,2)', override_class: 'VARCHAR', evidence: 'VARCHAR'})`, nil},
		{"resolve", `UPDATE flags SET status = 'resolved', resolved_scan_id = $scan
			WHERE status = 'open' AND detector IN (` + strings.Join(names, ", ") + `)
			AND flag_id NOT IN (SELECT flag_id FROM new_flags)`, &sum.Resolved},
		{"refresh", `UPDATE flags SET scan_id = $scan, org_code = n.org_code, score = n.score, amount_at_risk = n.amount_at_risk,
			evidence = n.evidence::JSON, status = 'open', resolved_scan_id = NULL
			FROM new_flags n WHERE flags.flag_id = n.flag_id`, nil},
		{"add", `INSERT INTO flags SELECT n.flag_id, $scan, $scan, n.detector, n.family, n.subject_type, n.subject_id, n.org_code,
			n.score, n.amount_at_risk, n.override_class, n.evidence::JSON, 'open', NULL
			FROM new_flags n WHERE n.flag_id NOT IN (SELECT flag_id FROM flags)`, &sum.New},
	}
	for i, s := range steps {
		var res sql.Result
		if i == 0 {
			res, err = conn.ExecContext(ctx, s.q, tmp.Name())
		} else {
			res, err = conn.ExecContext(ctx, s.q, sql.Named("scan", sum.ScanID))
		}
		if err != nil {
			return rollback(fmt.Errorf("store flags (%s): %w", s.what, err))
		}
		if s.n != nil {
			n, _ := res.RowsAffected()
			*s.n = int(n)
		}
	}
	for _, t := range timings {
		if _, err := conn.ExecContext(ctx, `INSERT INTO scan_detectors VALUES (?, ?, ?, ?)`, sum.ScanID, t.name, t.flags, t.seconds); err != nil {
			return rollback(err)
		}
	}
	if p := sum.Policy; p != nil {
		js, err := json.Marshal(p)
		if err != nil {
			return rollback(err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO scan_policies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::JSON)`, sum.ScanID,
			p.Policies.Source, p.Policies.Title, p.Policies.Revision, p.Policies.Example, p.Policies.SHA256,
			p.Settlements, p.Covered, string(js)); err != nil {
			return rollback(fmt.Errorf("store policy coverage: %w", err))
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT family, count(*) FROM flags WHERE scan_id = ? AND status = 'open' GROUP BY family ORDER BY family`, sum.ScanID)
	if err != nil {
		return rollback(err)
	}
	for rows.Next() {
		var fam string
		var n int
		rows.Scan(&fam, &n)
		sum.Flags[fam] = n
	}
	rows.Close()
	end := now()
	if _, err := conn.ExecContext(ctx, `UPDATE scans SET status = 'done', finished_at = ? WHERE scan_id = ?`, end, sum.ScanID); err != nil {
		return rollback(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return rollback(err)
	}
	sum.Seconds = end.Sub(start).Seconds()
	return sum, nil
}

// LatestScan returns the id of the latest finished scan, or 0.
func LatestScan(ctx context.Context, q Querier) (int64, error) {
	var id int64
	rows, err := q.QueryContext(ctx, `SELECT coalesce(max(scan_id), 0) FROM scans WHERE status = 'done'`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if rows.Next() {
		err = rows.Scan(&id)
	}
	return id, err
}
