package api

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/internal/glossary"
)

// inDistricts is a SQL condition on column (a region code) limiting rows to
// the user's districts, with its arguments; "true" for users who see all.
func inDistricts(u auth.User, column string) (string, []any) {
	if u.Sees("*") {
		return "true", nil
	}
	marks := make([]string, len(u.Districts))
	args := make([]any, len(u.Districts))
	for i, d := range u.Districts {
		marks[i], args[i] = "?", d
	}
	return column + " IN (" + strings.Join(marks, ", ") + ")", args
}

// scanRequest starts a scan.
type scanRequest struct {
	Detectors []string `json:"detectors"`  // name prefixes; empty = all
	OpenCases *bool    `json:"open_cases"` // open cases from the new flags (default true)
	// Incremental builds on the last scan (detectors.ScanOptions.Incremental).
	Incremental bool `json:"incremental"`
}

// scanResult is what a scan started over the API did.
type scanResult struct {
	Scan  detectors.ScanSummary `json:"scan"`
	Cases *casebook.OpenSummary `json:"cases,omitempty"`
}

// startScan answers POST /api/v1/scans: it runs the detectors (and opens
// cases) in the background and answers 202 with the scan's id.
func (s *Server) startScan(c *gin.Context) {
	var in scanRequest
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&in); err != nil {
			s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: `body must be JSON {"detectors": ["ghost_bed", …], "open_cases": true, "incremental": false}`})
			return
		}
	}
	dcfg := s.detectorCfg
	dcfg.Policies = s.policies
	ds, err := detectors.Registry(dcfg)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(in.Detectors) > 0 {
		if ds = detectors.Select(ds, in.Detectors); len(ds) == 0 {
			s.fail(c, &Error{Code: CodeInvalid, Field: "detectors", Message: "no detector name starts with any of these prefixes"})
			return
		}
	}
	open := in.OpenCases == nil || *in.OpenCases
	busy, ok := s.writer.TryAcquire("scan")
	if !ok {
		s.fail(c, &Error{Code: CodeConflict, Message: "the database is busy (" + busy + "); retry when it has finished"})
		return
	}
	// The server is the only writer and holds the writer lock: the scan
	// takes the next id.
	var id int64
	if err := s.db.QueryRowContext(c.Request.Context(), `SELECT coalesce(max(scan_id), 0) + 1 FROM scans`).Scan(&id); err != nil {
		s.writer.Release()
		s.fail(c, err)
		return
	}
	u := currentUser(c)
	actor := "user:" + u.ID
	s.jobs.start(s.writer, "scan", strconv.FormatInt(id, 10), s.now(), func(ctx context.Context) (any, error) {
		var res scanResult
		var err error
		opts := s.scanOptions()
		opts.Incremental = in.Incremental
		if !u.Sees("*") {
			opts.Districts = u.Districts // a district user's scan changes the flags of their districts only
		}
		if res.Scan, err = detectors.ScanWith(ctx, s.db.DB, ds, s.now, opts); err != nil {
			return res, err
		}
		if open {
			// A user of some districts opens cases of those districts only.
			openCases := s.cases.OpenCases
			if !u.Sees("*") {
				openCases = func(ctx context.Context, actor string) (casebook.OpenSummary, error) {
					return s.cases.OpenCasesIn(ctx, actor, u.Districts)
				}
			}
			sum, err := openCases(ctx, actor)
			res.Cases = &sum
			return res, err
		}
		return res, nil
	})
	c.JSON(http.StatusAccepted, gin.H{"scan_id": id, "status": "running", "detectors": len(ds), "status_url": "/api/v1/scans/" + strconv.FormatInt(id, 10)})
}

// scanRow is a scan as listed.
type scanRow struct {
	ScanID     int64      `json:"scan_id"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Status     string     `json:"status"`
	Detectors  int        `json:"detectors"`
	Error      string     `json:"error,omitempty"`
}

func (s *Server) scans(ctx context.Context, where string, args []any, limit int) ([]scanRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT scan_id, started_at, finished_at, status, detectors, coalesce(error, '')
		FROM scans WHERE `+where+` ORDER BY scan_id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []scanRow{}
	for rows.Next() {
		var r scanRow
		var fin sql.NullTime
		if err := rows.Scan(&r.ScanID, &r.StartedAt, &fin, &r.Status, &r.Detectors, &r.Error); err != nil {
			return nil, err
		}
		r.StartedAt = glossary.CST(r.StartedAt)
		if fin.Valid {
			r.FinishedAt = cstPtr(&fin.Time)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Server) listScans(c *gin.Context) {
	limit, err := intQuery(c, "limit", 50, 1, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, err := s.scans(c.Request.Context(), "true", nil, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"scans": list})
}

// familySummary is one family's open flags raised by a scan, in the
// user's districts.
type familySummary struct {
	Family       string       `json:"family"`
	Flags        int64        `json:"flags"`
	Institutions int64        `json:"institutions"`
	AmountAtRisk contract.Fen `json:"amount_at_risk"`
}

// detectorRun is one detector's part of a scan.
type detectorRun struct {
	Detector string  `json:"detector"`
	Flags    int64   `json:"flags"`
	Seconds  float64 `json:"seconds"`
}

// scanStatus answers GET /api/v1/scans/{id}: status, per-detector timings
// and, once done, per-family flags and amount at risk in the user's
// districts.
func (s *Server) scanStatus(c *gin.Context) {
	ctx := c.Request.Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, &Error{Code: CodeInvalid, Field: "id", Message: "a scan id is a positive whole number"})
		return
	}
	jb, started := s.jobs.get("scan", c.Param("id"))
	list, err := s.scans(ctx, "scan_id = ?", []any{id}, 1)
	if err != nil {
		s.fail(c, err)
		return
	}
	// The status is the background job's while this server runs it (the
	// scan, then opening cases), else the stored scan's.
	out := gin.H{}
	switch {
	case len(list) == 1:
		out["scan"], out["status"] = list[0], list[0].Status
	case started:
		out["scan"] = scanRow{ScanID: id, StartedAt: jb.StartedAt, Status: jb.Status, Error: jb.Error}
	default:
		s.fail(c, &Error{Code: CodeNotFound, Message: "no such scan"})
		return
	}
	if started {
		out["status"] = jb.Status
		if jb.Error != "" {
			out["error"] = jb.Error
		}
		if res, ok := jb.Result.(scanResult); ok && res.Cases != nil {
			out["cases"] = res.Cases
		}
	}
	runs := []detectorRun{}
	cond, args := inDistricts(currentUser(c), "i.region_code")
	// A user of some districts gets each detector's flags there (the
	// timings are the scan's).
	q, qargs := `SELECT detector, flags, seconds FROM scan_detectors WHERE scan_id = ? ORDER BY detector`, []any{id}
	if !currentUser(c).Sees("*") {
		q = `SELECT d.detector, coalesce(x.n, 0), d.seconds FROM scan_detectors d LEFT JOIN (
			SELECT f.detector, count(*) AS n FROM flags f LEFT JOIN institutions i ON i.org_code = f.org_code
			WHERE f.scan_id = ? AND ` + cond + ` GROUP BY f.detector) x USING (detector)
			WHERE d.scan_id = ? ORDER BY d.detector`
		qargs = append(append([]any{id}, args...), id)
	}
	rows, err := s.db.QueryContext(ctx, q, qargs...)
	if err != nil {
		s.fail(c, err)
		return
	}
	for rows.Next() {
		var r detectorRun
		if err := rows.Scan(&r.Detector, &r.Flags, &r.Seconds); err != nil {
			rows.Close()
			s.fail(c, err)
			return
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out["detectors"] = runs
	if out["policy"], err = detectors.ScanPolicy(ctx, s.db, id); err != nil {
		s.fail(c, err)
		return
	}
	if out["scope"], err = detectors.LoadScope(ctx, s.db, id); err != nil {
		s.fail(c, err)
		return
	}
	fams := []familySummary{}
	// Money at risk counts each subject once, at its largest amount (as a
	// case does): a stay hit by three rules is not three stays.
	rows, err = s.db.QueryContext(ctx, `WITH vis AS (SELECT f.* FROM flags f LEFT JOIN institutions i ON i.org_code = f.org_code
			WHERE f.scan_id = ? AND f.status = 'open' AND `+cond+`),
		per AS (SELECT family, subject_type, subject_id, max(amount_at_risk) AS amount FROM vis GROUP BY ALL),
		amt AS (SELECT family, sum(amount) AS amount FROM per GROUP BY family)
		SELECT v.family, count(*), count(DISTINCT v.org_code), any_value(a.amount)::VARCHAR
		FROM vis v JOIN amt a USING (family) GROUP BY v.family ORDER BY v.family`, append([]any{id}, args...)...)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var f familySummary
		var amount string
		if err := rows.Scan(&f.Family, &f.Flags, &f.Institutions, &amount); err != nil {
			s.fail(c, err)
			return
		}
		if f.AmountAtRisk, err = contract.ParseFen(amount); err != nil {
			s.fail(c, err)
			return
		}
		fams = append(fams, f)
	}
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out["families"] = fams
	if err := s.scanGuard(c, id, cond, args, out); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// markInterrupted records scans a crash left running as failed, so their
// status is true and a new scan may start.
func markInterrupted(ctx context.Context, db *sql.DB, now time.Time) error {
	_, err := db.ExecContext(ctx, `UPDATE scans SET status = 'failed', finished_at = ?, error = 'interrupted: the service stopped during the scan'
		WHERE status = 'running'`, now)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
