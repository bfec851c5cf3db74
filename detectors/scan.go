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
	"strings"
	"sync"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// ScanSummary is the result of one scan.
type ScanSummary struct {
	ScanID    int64          `json:"scan_id"`
	Detectors int            `json:"detectors"`
	Flags     map[string]int `json:"flags"` // per family, open flags raised by this scan
	New       int            `json:"new"`
	Resolved  int            `json:"resolved"`
	Seconds   float64        `json:"seconds"`
	// AmountAtRisk is the money at risk of the open flags per family and
	// in all, each subject counted once at its largest amount.
	AmountAtRisk         contract.Fen            `json:"amount_at_risk"`
	AmountAtRiskByFamily map[string]contract.Fen `json:"amount_at_risk_by_family"`
	// Suppressed counts the flags held by calibration alarms (no case).
	Suppressed int `json:"suppressed"`
	// Rules is the flag share of every rule against its population.
	Rules []RuleShare `json:"rules"`
	// Alarms are the calibration alarms this scan raised.
	Alarms []Alarm `json:"calibration_alarms"`
	// Thresholds names where the thresholds in force came from; their
	// values are stored in scan_thresholds.
	Thresholds string `json:"thresholds"`
	// Conventions are the conventions learned from the data (swipe amount,
	// drug quantity unit, restocking), per value the institutions using it.
	Conventions []Convention `json:"conventions,omitempty"`
	// Policy is the settlement policy file the recompute checks used and the
	// share of settlements it covers; nil when no such check ran.
	Policy *PolicyCoverage `json:"policy,omitempty"`
	// Scope says what the scan read: all the data or, incremental, the
	// persons touched since its base scan.
	Scope ScopeReport `json:"scope"`
	// Phases are the wall seconds of the scan's steps, in order.
	Phases []ScanPhase `json:"phases"`
}

// ScanPhase is the wall time of one step of a scan.
type ScanPhase struct {
	Phase   string  `json:"phase"`
	Label   string  `json:"label"` // zh-CN, then English
	Seconds float64 `json:"seconds"`
}

// scanPhases names the steps of a scan, in order.
var scanPhases = []struct{ phase, label string }{
	{"prepare", "准备：共享中间表与扫描范围 Prepare: shared intermediates and scope"},
	{"detectors", "检测规则 Detectors"},
	{"collect", "汇总标记、惯例与政策覆盖 Collect flags, conventions and policy coverage"},
	{"readers", "沿用未变的标记与复用本次标记的规则 Carried flags and rules reading this scan's flags"},
	{"guard", "人群占比校准 Population guard"},
	{"store", "写入标记与汇总 Store flags and summary"},
}

// flagRow is a flag as the scan stores it (new_flags).
type flagRow struct {
	FlagID      string  `json:"flag_id"`
	Detector    string  `json:"detector"`
	Family      string  `json:"family"`
	SubjectType string  `json:"subject_type"`
	SubjectID   string  `json:"subject_id"`
	OrgCode     string  `json:"org_code"`
	Score       float64 `json:"score"`
	Amount      string  `json:"amount_at_risk"`
	Override    string  `json:"override_class"`
	Evidence    string  `json:"evidence"`
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
	return ScanWith(ctx, db, ds, now, ScanOptions{Guard: DefaultGuardConfig()})
}

// ScanOptions are the settings of a scan beyond its detectors.
type ScanOptions struct {
	Guard GuardConfig // the population-rate guard
	// ThresholdsSource names where the detectors' thresholds came from (a
	// thresholds file); it is stored with the values in force. Empty: the
	// detectors as the caller configured them.
	ThresholdsSource string
	// Districts, when not nil, limits what the scan changes to the flags of
	// the institutions of these districts (region codes): a scan started by
	// a district user adds, refreshes, holds and resolves no flag of another
	// district (nor one without an institution). The detectors and the
	// population guard still read all the data.
	Districts []string
	// Workers is how many detectors run at once, each on its own
	// connection; 0 means one per CPU.
	Workers int
	// Incremental builds on the last finished scan: the per-person
	// detectors re-judge only the persons the ingest runs since touched,
	// the others re-run over all the data (incremental.go). When the last
	// scan does not allow it the scan runs in full and says why.
	Incremental bool
}

// ScanWith is Scan with options.
func ScanWith(ctx context.Context, db *sql.DB, ds []Detector, now func() time.Time, opts ScanOptions) (ScanSummary, error) {
	start := now()
	ctx = withScanState(ctx)
	sum := ScanSummary{Detectors: len(ds), Flags: map[string]int{}}
	// phaseDone ends the next phase of scanPhases (wall time, whatever
	// clock now is).
	last := time.Now()
	phaseDone := func() {
		p := scanPhases[len(sum.Phases)]
		t := time.Now()
		secs := t.Sub(last).Seconds()
		sum.Phases = append(sum.Phases, ScanPhase{Phase: p.phase, Label: p.label, Seconds: secs})
		slog.Info("scan phase done", "phase", p.phase, "seconds", secs)
		last = t
	}
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
	// SQL detectors store their flags here, in an in-memory database every
	// connection of this process sees, for the length of the scan.
	store := fmt.Sprintf("scan_work.flags_%d", sum.ScanID)
	if _, err := conn.ExecContext(ctx, `ATTACH IF NOT EXISTS ':memory:' AS scan_work`); err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE `+store+` (flag_id VARCHAR, detector VARCHAR, family VARCHAR,
		subject_type VARCHAR, subject_id VARCHAR, org_code VARCHAR, score DOUBLE, amount_at_risk DECIMAL(18,2), override_class VARCHAR,
		evidence VARCHAR)`); err != nil {
		return fail(err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+store)
	work, err := newScanWork(ctx, conn, sum.ScanID)
	if err != nil {
		return fail(err)
	}
	defer work.drop(ctx, conn)
	state := readTables
	defer work.use(context.WithoutCancel(ctx), conn, readTables, &state)
	if err := work.use(ctx, conn, readShared, &state); err != nil {
		return fail(err)
	}
	rep, err := planScope(ctx, conn, work, ds, opts)
	if err != nil {
		return fail(err)
	}
	if rep.Mode == ModeIncremental {
		slog.Info("incremental scan", "base_scan", rep.BaseScan, "changed_persons", rep.Changed, "read_persons", rep.Read)
	}
	phaseDone()
	// put writes a flag row: to the JSONL file while the detectors run
	// (from the workers' streaming detectors too, hence the lock), then
	// (the readers of their flags) straight into new_flags.
	var putMu sync.Mutex
	put := func(r flagRow) error { return enc.Encode(r) }
	keep := func(d Detector, f *Flag) error {
		if f.Detector != d.Name() {
			return fmt.Errorf("detector %s returned a flag named %s", d.Name(), f.Detector)
		}
		if err := f.Validate(); err != nil {
			return err
		}
		ev, err := json.Marshal(f.Evidence)
		if err != nil {
			return fmt.Errorf("evidence of %s on %s: %w", f.Detector, f.SubjectID, err)
		}
		putMu.Lock()
		defer putMu.Unlock()
		return put(flagRow{
			FlagID: FlagID(f.Detector, f.SubjectType, f.SubjectID), Detector: f.Detector, Family: f.Family,
			SubjectType: f.SubjectType, SubjectID: f.SubjectID, OrgCode: f.OrgCode, Score: f.Score,
			Amount: f.AmountAtRisk.String(), Override: string(f.Override), Evidence: string(ev),
		})
	}
	record := func(res detected) error {
		d := res.detector
		for i := range res.flags {
			if err := keep(d, &res.flags[i]); err != nil {
				return err
			}
		}
		timings = append(timings, timing{d.Name(), res.count(), res.seconds})
		names = append(names, "'"+strings.ReplaceAll(d.Name(), "'", "''")+"'")
		return nil
	}
	readers, err := runDetectors(ctx, db, ds, opts.Workers, store, work, keep, record)
	if err != nil {
		return fail(err)
	}
	phaseDone()
	if err := errors.Join(w.Flush(), tmp.Close()); err != nil {
		return fail(err)
	}
	if sum.Conventions, err = LearnedConventions(ctx, conn); err != nil {
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

	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE new_flags AS SELECT * FROM read_json(?, format = 'newline_delimited', columns = {
			flag_id: 'VARCHAR', detector: 'VARCHAR', family: 'VARCHAR', subject_type: 'VARCHAR', subject_id: 'VARCHAR',
			org_code: 'VARCHAR', score: 'DOUBLE', amount_at_risk: 'DECIMAL(18,2)', override_class: 'VARCHAR', evidence: 'VARCHAR'})
		UNION ALL SELECT * FROM `+store, tmp.Name()); err != nil {
		return fail(fmt.Errorf("store flags (read flags): %w", err))
	}
	// new_flags holds the store's flags now: free its memory (before the
	// transaction, which may write to one attached database only)
	if _, err := conn.ExecContext(ctx, `DROP TABLE `+store); err != nil {
		return fail(fmt.Errorf("store flags (drop the store): %w", err))
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fail(err)
	}
	rollback := func(err error) (ScanSummary, error) {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fail(err)
	}
	phaseDone()
	if rep.Carried, err = work.merge(ctx, conn); err != nil {
		return rollback(err)
	}
	put = func(r flagRow) error {
		_, err := conn.ExecContext(ctx, `INSERT INTO new_flags VALUES (?, ?, ?, ?, ?, ?, ?, ?::DECIMAL(18,2), ?, ?)`, r.FlagID, r.Detector,
			r.Family, r.SubjectType, r.SubjectID, r.OrgCode, r.Score, r.Amount, r.Override, r.Evidence)
		return err
	}
	if err := runReaders(ctx, conn, readers, record); err != nil {
		return rollback(err)
	}
	phaseDone()
	guard, concentration, err := runGuard(ctx, conn, sum.ScanID, ds, opts.Guard, start)
	if err != nil {
		return rollback(fmt.Errorf("population guard: %w", err))
	}
	slog.Info("population guard done", "alarms", len(guard.alarms))
	phaseDone()
	sum.Rules = guard.shares
	for _, n := range concentration {
		names = append(names, "'"+strings.ReplaceAll(n, "'", "''")+"'")
	}
	scope := ""
	if opts.Districts != nil {
		quoted := make([]string, 0, len(opts.Districts)+1)
		quoted = append(quoted, "''")
		for _, d := range opts.Districts {
			quoted = append(quoted, "'"+strings.ReplaceAll(d, "'", "''")+"'")
		}
		scope = ` AND org_code IN (SELECT org_code FROM institutions WHERE region_code IN (` + strings.Join(quoted, ", ") + `))`
		if _, err := conn.ExecContext(ctx, `DELETE FROM new_flags WHERE NOT (org_code IS NOT NULL`+scope+`)`); err != nil {
			return rollback(fmt.Errorf("store flags (scope): %w", err))
		}
	}
	steps := []struct {
		what string
		q    string
		n    *int
	}{
		{"resolve", `UPDATE flags SET status = 'resolved', resolved_scan_id = $scan
			WHERE status IN ('open', 'suppressed') AND detector IN (` + strings.Join(names, ", ") + `)
			AND flag_id NOT IN (SELECT flag_id FROM new_flags)` + scope, &sum.Resolved},
		{"refresh", `UPDATE flags SET scan_id = $scan, org_code = n.org_code, score = n.score, amount_at_risk = n.amount_at_risk,
			status = 'open', resolved_scan_id = NULL
			FROM new_flags n WHERE flags.flag_id = n.flag_id`, nil},
		{"refresh evidence", `UPDATE flags SET evidence = n.evidence::JSON
			FROM new_flags n WHERE flags.flag_id = n.flag_id AND hash(n.flag_id) % $parts = $part
			AND flags.evidence IS DISTINCT FROM n.evidence::JSON`, nil},
		{"add", `INSERT INTO flags SELECT n.flag_id, $scan, $scan, n.detector, n.family, n.subject_type, n.subject_id, n.org_code,
			n.score, n.amount_at_risk, n.override_class, n.evidence::JSON, 'open', NULL
			FROM new_flags n WHERE n.flag_id NOT IN (SELECT flag_id FROM flags)`, &sum.New},
		{"hold", `UPDATE flags SET status = 'suppressed' WHERE flag_id IN (SELECT af.flag_id FROM calibration_alarm_flags af
			JOIN calibration_alarms a USING (alarm_id) WHERE a.scan_id = $scan AND a.status = 'open')` + scope, &sum.Suppressed},
		{"clear alarms", `UPDATE calibration_alarms SET status = 'cleared', resolved_by = 'system:scan', resolved_at = $at
			WHERE status = 'open' AND scan_id < $scan AND detector IN (` + strings.Join(names, ", ") + `)`, nil},
	}
	// The refresh of the evidence joins the stored flags to the new ones,
	// evidence and all: it runs in parts of at most refreshPartBytes of
	// evidence each (at 2.5 M persons, in one part it ran out of DuckDB's
	// 2 GB limit), and rewrites only the evidence that changed: DuckDB
	// keeps an updated text value's old and new version in memory outside
	// its buffer limit until the transaction ends (a rescan of unchanged
	// data at 1 M persons rewrote 117 k evidence documents and peaked at
	// 1.6 GB).
	var evidenceBytes int64
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(sum(strlen(evidence)), 0) FROM new_flags`).Scan(&evidenceBytes); err != nil {
		return rollback(fmt.Errorf("store flags (size): %w", err))
	}
	parts := 1 + evidenceBytes/refreshPartBytes
	for _, s := range steps {
		args := []any{sql.Named("scan", sum.ScanID)}
		if strings.Contains(s.q, "$at") {
			args = append(args, sql.Named("at", start.UTC()))
		}
		n, split := int64(1), strings.Contains(s.q, "$part")
		if split {
			n = parts
		}
		for part := range n {
			a := args
			if split {
				a = append(a[:len(a):len(a)], sql.Named("parts", n), sql.Named("part", part))
			}
			res, err := conn.ExecContext(ctx, s.q, a...)
			if err != nil {
				return rollback(fmt.Errorf("store flags (%s): %w", s.what, err))
			}
			if s.n != nil {
				k, _ := res.RowsAffected()
				*s.n += int(k)
			}
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
	sum.Thresholds = opts.ThresholdsSource
	if sum.Thresholds == "" {
		sum.Thresholds = "registry"
	}
	if err := storeThresholds(ctx, conn, sum.ScanID, ds, sum.Thresholds); err != nil {
		return rollback(err)
	}
	if err := recordScope(ctx, conn, sum.ScanID, rep); err != nil {
		return rollback(err)
	}
	sum.Scope = rep
	if err := summarize(ctx, conn, &sum); err != nil {
		return rollback(err)
	}
	end := now()
	if _, err := conn.ExecContext(ctx, `UPDATE scans SET status = 'done', finished_at = ? WHERE scan_id = ?`, end, sum.ScanID); err != nil {
		return rollback(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return rollback(err)
	}
	phaseDone()
	sum.Seconds = end.Sub(start).Seconds()
	return sum, nil
}

// refreshPartBytes bounds the evidence one part of the flag refresh joins
// (a variable so that a test can force many parts).
var refreshPartBytes int64 = 128 << 20

// LatestScan returns the id of the latest finished scan, or 0.
func LatestScan(ctx context.Context, q Querier) (int64, error) {
	var id int64
	rows, err := q.QueryContext(ctx, `SELECT coalesce(max(scan_id), 0) FROM scans WHERE status = 'done'`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
	}
	return id, rows.Err()
}

// summarize fills the per-family counts and money of the scan's open flags
// (money once per subject, at its largest amount) and its alarms.
func summarize(ctx context.Context, q Querier, sum *ScanSummary) error {
	rows, err := q.QueryContext(ctx, `SELECT family, count(*) FROM flags WHERE scan_id = ? AND status = 'open' GROUP BY family ORDER BY family`, sum.ScanID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var fam string
		var n int
		if err := rows.Scan(&fam, &n); err != nil {
			rows.Close()
			return err
		}
		sum.Flags[fam] = n
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	sum.AmountAtRiskByFamily = map[string]contract.Fen{}
	rows, err = q.QueryContext(ctx, `WITH per AS (SELECT family, subject_type, subject_id, max(amount_at_risk) AS amount
			FROM flags WHERE scan_id = ? AND status = 'open' GROUP BY ALL)
		SELECT coalesce(family, ''), sum(amount)::VARCHAR FROM (
			SELECT family, subject_type, subject_id, amount FROM per
			UNION ALL SELECT NULL, subject_type, subject_id, max(amount) FROM per GROUP BY subject_type, subject_id)
		GROUP BY family ORDER BY family`, sum.ScanID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var fam, amount string
		if err := rows.Scan(&fam, &amount); err != nil {
			rows.Close()
			return err
		}
		a, err := contract.ParseFen(amount)
		if err != nil {
			rows.Close()
			return err
		}
		if fam == "" {
			sum.AmountAtRisk = a
		} else {
			sum.AmountAtRiskByFamily[fam] = a
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	sum.Alarms, err = LoadAlarms(ctx, q, `scan_id = ? AND status = 'open'`, sum.ScanID)
	return err
}

// storeThresholds records the threshold values the scan's detectors ran with.
func storeThresholds(ctx context.Context, q Querier, scanID int64, ds []Detector, source string) error {
	th, err := thresholdsJSON(ds)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO scan_thresholds VALUES (?, ?, ?::JSON)`, scanID, source, th)
	return err
}

// thresholdsJSON is the threshold values in force of every detector, by
// detector and threshold name.
func thresholdsJSON(ds []Detector) (string, error) {
	th := map[string]map[string]float64{}
	for _, d := range ds {
		desc, ok := d.(Describer)
		if !ok {
			continue
		}
		p, hasParam := d.(interface{ Param(string) float64 })
		vals := map[string]float64{}
		for _, t := range desc.Describe().Thresholds {
			vals[t.Name] = t.Default
			if hasParam {
				vals[t.Name] = p.Param(t.Name)
			}
		}
		th[d.Name()] = vals
	}
	b, err := json.Marshal(th)
	return string(b), err
}
