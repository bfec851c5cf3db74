// Command killloop is the crash-safety harness: it drives the real medaudit
// binary, kills it with SIGKILL at random moments during ingest, scan,
// reviewer verdicts (through the API of a running server, while it scans)
// and report runs (from the CLI and from the server's scheduler), and after
// every kill
// checks that the database opens and keeps its promises: `medaudit check`
// finds no half-written batch, scan, verdict, case or report and an intact
// audit trail; a killed batch ingests again with every row accounted for;
// every verdict the API acknowledged survived; the restarted server closes
// interrupted scans and redoes interrupted report runs.
//
// It prints a table and a last line for scripts:
//
//	KILL faults=N batches_intact=M/M rows_accounted=R/R half_written=0 redone=K/K verdicts_lost=0 http_5xx=0
//
// and exits non-zero when an invariant failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/medaudit/medaudit/reports"
)

// config is the harness's command line.
type config struct {
	bin     string // the medaudit binary under test
	work    string // scratch folder (kept with -keep)
	persons int    // fixture persons of the demo database
	kills   int    // SIGKILLs to deliver, spread over the scenarios
	seed    uint64 // of the kill delays
	keep    bool
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "medaudit binary to test (required)")
	flag.StringVar(&c.work, "work", "", "scratch folder (default: a new temporary folder)")
	flag.IntVar(&c.persons, "persons", 2000, "persons of the demo database")
	flag.IntVar(&c.kills, "kills", 8, "SIGKILLs to deliver in total, spread over ingest, scan, verdicts and reports")
	flag.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "seed of the random kill delays (printed, to replay a run)")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch folder")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		slog.Error("killloop failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.bin == "" || c.kills < 1 || c.persons < 100 {
		return errors.New("-bin is required, -kills at least 1 and -persons at least 100")
	}
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	if c.work == "" {
		if c.work, err = os.MkdirTemp("", "killloop-"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(c.work)
		}
	}
	slog.Info("killloop", "kills", c.kills, "persons", c.persons, "seed", c.seed, "work", c.work)
	h := &harness{bin: bin, work: c.work, rng: rand.New(rand.NewPCG(c.seed, 0x6b696c6c))}
	start := time.Now()
	if err := h.prepare(ctx, c.persons); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	scenarios := []scenario{
		{name: "ingest", run: h.killIngest},
		{name: "scan", run: h.killScan},
		{name: "verdicts", run: h.killVerdicts},
		{name: "reports", run: h.killReports},
	}
	for i := range scenarios {
		want := c.kills / len(scenarios)
		if i < c.kills%len(scenarios) {
			want++
		}
		s := &scenarios[i]
		// A process that finished before its kill is no fault: try again,
		// up to three times as many attempts as kills wanted.
		for attempt := 0; s.stats.kills < want && attempt < 3*want+3; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.run(ctx, &s.stats); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	return report(os.Stdout, scenarios, time.Since(start))
}

// scenario is one kind of work the harness kills.
type scenario struct {
	name  string
	run   func(context.Context, *stats) error
	stats stats
}

// stats are a scenario's counts.
type stats struct {
	kills      int // SIGKILLs that hit a running process
	completed  int // attempts where the process finished first
	checks     int // `medaudit check` runs after a kill or restart
	violations int64

	batches, batchesIntact     int   // ingest
	rowsExpected, rowsAccounts int64 // ingest
	interrupted, closed        int   // scans left running, closed by the restarted server (scan, verdicts)
	acked, lost, http5xx       int   // verdicts
	redo, redone               int   // report runs interrupted, redone by the scheduler
	failures                   []string
}

func (s *stats) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	slog.Error("invariant failed", "what", msg)
	s.failures = append(s.failures, msg)
}

// report prints the table and the KILL line, and fails when an invariant did.
func report(w *os.File, scenarios []scenario, took time.Duration) error {
	var t stats
	fmt.Fprintf(w, "\n%-9s %6s %9s %7s %10s  %s\n", "scenario", "kills", "completed", "checks", "violations", "details")
	for _, s := range scenarios {
		st := s.stats
		var detail string
		switch s.name {
		case "ingest":
			detail = fmt.Sprintf("batches intact %d/%d, rows accounted %d/%d", st.batchesIntact, st.batches, st.rowsAccounts, st.rowsExpected)
		case "scan":
			detail = fmt.Sprintf("scans left running %d, closed by the restarted server %d/%d", st.interrupted, st.closed, st.interrupted)
		case "verdicts":
			detail = fmt.Sprintf("verdicts acknowledged %d, lost %d, HTTP 5xx %d; server scans left running %d, closed at restart %d/%d",
				st.acked, st.lost, st.http5xx, st.interrupted, st.closed, st.interrupted)
		case "reports":
			detail = fmt.Sprintf("report runs interrupted %d, redone %d/%d", st.redo, st.redone, st.redo)
		}
		fmt.Fprintf(w, "%-9s %6d %9d %7d %10d  %s\n", s.name, st.kills, st.completed, st.checks, st.violations+int64(len(st.failures)), detail)
		t.kills += st.kills
		t.violations += st.violations + int64(len(st.failures))
		t.batches += st.batches
		t.batchesIntact += st.batchesIntact
		t.rowsExpected += st.rowsExpected
		t.rowsAccounts += st.rowsAccounts
		t.redo += st.redo
		t.redone += st.redone
		t.lost += st.lost
		t.http5xx += st.http5xx
		t.failures = append(t.failures, st.failures...)
	}
	fmt.Fprintf(w, "took %s\n", took.Round(time.Second))
	fmt.Fprintf(w, "KILL faults=%d batches_intact=%d/%d rows_accounted=%d/%d half_written=%d redone=%d/%d verdicts_lost=%d http_5xx=%d\n",
		t.kills, t.batchesIntact, t.batches, t.rowsAccounts, t.rowsExpected, t.violations, t.redone, t.redo, t.lost, t.http5xx)
	if len(t.failures) > 0 || t.violations > 0 || t.batchesIntact != t.batches || t.rowsAccounts != t.rowsExpected || t.redone != t.redo || t.lost > 0 || t.http5xx > 0 {
		return fmt.Errorf("%d invariant failures: %s", len(t.failures), strings.Join(t.failures, "; "))
	}
	return nil
}

// scheduleYAML is a one-job report schedule (the quarterly inspection
// report: no scan, seconds to run) named job.
func scheduleYAML(job string) string {
	return fmt.Sprintf("timezone: Asia/Shanghai\njobs:\n  - name: %s\n    kind: quarterly_inspection\n    spec: \"0 3 1 1,4,7,10 *\"\n    scan: false\n", job)
}

// latest is the occurrence of the schedule's job the scheduler would run now.
func latest(yaml, job string) (time.Time, error) {
	cfg, err := reports.ParseConfig([]byte(yaml))
	if err != nil {
		return time.Time{}, err
	}
	j, err := cfg.Job(job)
	if err != nil {
		return time.Time{}, err
	}
	at, ok := j.Latest(time.Now().In(cfg.Location()))
	if !ok {
		return time.Time{}, fmt.Errorf("job %s has no past occurrence", job)
	}
	return at, nil
}

// decodeLast decodes the last line of a command's output as JSON.
func decodeLast(out []byte, v any) error {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		return fmt.Errorf("not a JSON summary: %.200s", lines[len(lines)-1])
	}
	return nil
}
