package reports_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/reports"
)

func TestConfig(t *testing.T) {
	cfg := reports.DefaultConfig()
	if len(cfg.Jobs) != 5 {
		t.Fatalf("default jobs %+v", cfg.Jobs)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		job, now, latest string
	}{
		{"monthly", "2026-11-01 02:00", "2026-11-01 02:00"},
		{"monthly", "2026-11-01 01:59", "2026-10-01 02:00"},
		{"monthly", "2026-03-15 12:00", "2026-03-01 02:00"},
		{"quarterly", "2026-03-31 23:00", "2026-01-01 03:00"},
		{"quarterly", "2026-07-02 00:00", "2026-07-01 03:00"},
		{"annual", "2026-01-15 03:59", "2025-01-15 04:00"},
		{"annual", "2026-12-31 00:00", "2026-01-15 04:00"},
	}
	for _, tt := range tests {
		j, err := cfg.Job(tt.job)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := j.Latest(at(tt.now))
		if !ok || !got.Equal(at(tt.latest)) {
			t.Errorf("%s latest at %s = %v, want %s", tt.job, tt.now, got, tt.latest)
		}
	}
	bad := []struct{ yaml, want string }{
		{"jobs:\n  - {name: m, kind: monthly_scan, spec: \"0 2 32 * *\"}\n", `job m: cron spec "0 2 32 * *"`},
		{"jobs:\n  - {name: m, kind: monthly_scan, spec: \"@every 5m\"}\n  - {name: q, kind: weekly, spec: \"0 3 * * 1\"}\n", "job q: unknown kind"},
		{"jobs:\n  - {name: m, kind: monthly_scan, spec: \"0 2 1 * *\", districts: [\"3301\"]}\n", `job m: district "3301"`},
		{"jobs:\n  - {name: m, kind: monthly_scan, spec: \"0 2 1 * *\", when: now}\n", "when"},
		{"timezone: Mars/Olympus\njobs:\n  - {name: m, kind: monthly_scan, spec: \"0 2 1 * *\"}\n", "timezone"},
	}
	for _, b := range bad {
		_, err := reports.ParseConfig([]byte(b.yaml))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("config %q: error %v, want %q", b.yaml, err, b.want)
		}
	}
}

// annualOnly is a runner whose only job is the annual scoring (fast: no
// scan), scheduled as spec.
func annualOnly(t *testing.T, spec string, now func() time.Time) (*reports.Runner, *sql.DB) {
	t.Helper()
	db := world(t)
	cfg, err := reports.ParseConfig([]byte("jobs:\n  - {name: annual, kind: annual_scoring, spec: \"" + spec + "\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return reports.NewRunner(db.DB, cfg, ds, now), db.DB
}

// TestCatchUp: the latest missed occurrence runs at start-up (only it), a
// done occurrence is not repeated, an interrupted one is redone.
func TestCatchUp(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, shanghai)
	r, db := annualOnly(t, "0 4 15 1 *", func() time.Time { return now })
	runs, err := r.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2027, 1, 15, 4, 0, 0, 0, shanghai)
	if len(runs) != 1 || !runs[0].ScheduledFor.Equal(want) || runs[0].Status != reports.StatusDone {
		t.Fatalf("catch-up ran %+v, want the 2027-01-15 occurrence only", runs)
	}
	if names := fileNames(runs[0]); names != "annual-2026.html annual-2026.xlsx inputs.json" {
		t.Errorf("files %s", names)
	}
	if runs, err := r.CatchUp(ctx); err != nil || len(runs) != 0 {
		t.Errorf("second catch-up ran %+v %v: a done occurrence must not repeat", runs, err)
	}

	// A crash left the next occurrence 'running': Serve marks it failed
	// and redoes it.
	now = time.Date(2028, 2, 1, 9, 0, 0, 0, shanghai)
	next := time.Date(2028, 1, 15, 4, 0, 0, 0, shanghai)
	if _, err := db.Exec(`INSERT INTO report_runs (run_id, job, kind, scheduled_for, started_at, status, districts)
		VALUES (99, 'annual', 'annual_scoring', ?, ?, 'running', '')`, next, next); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- r.Serve(sctx) }()
	var redone reports.Run
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && redone.ID == 0; time.Sleep(100 * time.Millisecond) {
		list, err := reports.List(ctx, db, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, run := range list {
			if run.ScheduledFor.Equal(next) && run.Status == reports.StatusDone {
				redone = run
			}
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if redone.ID == 0 || redone.ID == 99 {
		t.Fatalf("the interrupted occurrence was not redone: %+v", redone)
	}
	var status, msg string
	if err := db.QueryRow(`SELECT status, error FROM report_runs WHERE run_id = 99`).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != reports.StatusFailed || !strings.Contains(msg, "interrupted") {
		t.Errorf("interrupted run is %s %q", status, msg)
	}
	var files int
	if err := db.QueryRow(`SELECT count(*) FROM report_files WHERE run_id = 99`).Scan(&files); err != nil {
		t.Fatal(err)
	}
	if files != 0 {
		t.Errorf("the interrupted run has %d files", files)
	}
}

// TestServeOnSchedule: Serve runs a job when its next occurrence comes.
func TestServeOnSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The test clock starts 1.5 s before 10:00 and runs at the wall clock's
	// pace; the 09:59 occurrence is already done, so the 10:00 one is the
	// next to run.
	base, start := time.Date(2027, 5, 3, 9, 59, 58, 500_000_000, shanghai), time.Now()
	r, db := annualOnly(t, "* * * * *", func() time.Time { return base.Add(time.Since(start)) })
	if _, err := r.Run(ctx, jobOf(t, r), time.Date(2027, 5, 3, 9, 59, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	go r.Serve(ctx)
	want := time.Date(2027, 5, 3, 10, 0, 0, 0, shanghai)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM report_runs WHERE scheduled_for = ? AND status = 'done'`, want).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			var all int
			if err := db.QueryRow(`SELECT count(*) FROM report_runs`).Scan(&all); err != nil {
				t.Fatal(err)
			}
			if all != 2 {
				t.Errorf("%d runs, want the manual one and the 10:00 one", all)
			}
			return
		}
	}
	t.Fatal("the 10:00 occurrence did not run")
}

// TestRunsSerialised: runs started together execute one at a time.
func TestRunsSerialised(t *testing.T) {
	ctx := context.Background()
	r, db := annualOnly(t, "0 4 15 1 *", time.Now)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.RunNow(ctx, "annual", time.Date(2027, 1, 15, 4, i, 0, 0, shanghai))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT started_at, finished_at FROM report_runs WHERE status = 'done' ORDER BY started_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prevEnd time.Time
	n := 0
	for rows.Next() {
		var s, e time.Time
		if err := rows.Scan(&s, &e); err != nil {
			t.Fatal(err)
		}
		if s.Before(prevEnd) {
			t.Errorf("run started at %v before the previous one finished at %v", s, prevEnd)
		}
		prevEnd = e
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d done runs, want 4", n)
	}
}

func jobOf(t *testing.T, r *reports.Runner) reports.Job {
	cfg := r.Config()
	return cfg.Jobs[0]
}

func fileNames(run reports.Run) string {
	var s []string
	for _, f := range run.Files {
		s = append(s, f.Name)
	}
	return strings.Join(s, " ")
}
