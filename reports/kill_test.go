package reports_test

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// killHelperEnv makes the test binary a scheduler process over the database
// file it names (see TestKillDuringRun).
const killHelperEnv = "REPORTS_KILL_HELPER_DB"

// killAt is the helper's clock: the monthly occurrence of 2026-01-01 02:00
// is due and not done.
var killAt = time.Date(2026, 1, 1, 2, 30, 0, 0, shanghai)

// killHelper serves the default schedule over path until it is killed.
func killHelper(path string) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx := context.Background()
	db, err := pipeline.Open(ctx, path, pipeline.DBConfig{})
	if err != nil {
		slog.Error("open", "err", err)
		return 2
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		return 2
	}
	if err := reports.NewRunner(db.DB, reports.DefaultConfig(), ds, func() time.Time { return killAt }).Serve(ctx); err != nil {
		slog.Error("serve", "err", err)
		return 2
	}
	return 0
}

// TestKillDuringRun kills (SIGKILL) a scheduler process in the middle of
// the monthly run it started at start-up: the database keeps the run's
// 'running' marker and no file of it, and the next start redoes the run.
func TestKillDuringRun(t *testing.T) {
	path := copyWorld(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	started := false
	for lines.Scan() {
		if strings.Contains(lines.Text(), "report run started") && strings.Contains(lines.Text(), "job=monthly") {
			started = true
			break
		}
	}
	if !started {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the helper did not start the monthly run")
	}
	// inside the run: killed as its scan reports its first detector done
	scanning := false
	for lines.Scan() {
		if strings.Contains(lines.Text(), "detector done") {
			scanning = true
			break
		}
	}
	if !scanning {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the helper's monthly run did not scan")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("helper ended with %v, want killed", err)
	}

	ctx := context.Background()
	db, err := pipeline.Open(ctx, path, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status string
	var files int
	if err := db.QueryRow(`SELECT status FROM report_runs WHERE run_id = 1`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM report_files`).Scan(&files); err != nil {
		t.Fatal(err)
	}
	if status != reports.StatusRunning || files != 0 {
		t.Fatalf("after the kill: run 1 is %s with %d files stored, want running with none", status, files)
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- reports.NewRunner(db.DB, reports.DefaultConfig(), ds, func() time.Time { return killAt }).Serve(sctx)
	}()
	want := time.Date(2026, 1, 1, 2, 0, 0, 0, shanghai)
	var redone reports.Run
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && redone.ID == 0; time.Sleep(200 * time.Millisecond) {
		runs, err := reports.List(ctx, db.DB, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Job == "monthly" && r.ScheduledFor.Equal(want) && r.Status == reports.StatusDone {
				redone = r
			}
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if redone.ID == 0 {
		t.Fatal("the interrupted monthly run was not redone")
	}
	if err := db.QueryRow(`SELECT status FROM report_runs WHERE run_id = 1`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	var orphan int
	if err := db.QueryRow(`SELECT count(*) FROM report_files WHERE run_id <> ?`, redone.ID).Scan(&orphan); err != nil {
		t.Fatal(err)
	}
	if status != reports.StatusFailed || orphan != 0 || fileNames(redone) != "inputs.json monthly-2025-12.html monthly-2025-12.xlsx" {
		t.Errorf("run 1 %s, %d files of other runs, redone files %s", status, orphan, fileNames(redone))
	}
}
