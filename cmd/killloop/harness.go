package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/medaudit/medaudit/reports"
)

// harness holds the prepared inputs and reference timings.
type harness struct {
	bin, work string
	rng       *rand.Rand
	n         int // copies made, for unique names

	base, batch2       string // demo database; a second batch to ingest
	sched, redo        string // schedule files: "quarterly" (done in base) and "quarterly_redo" (not)
	redoAt             time.Time
	tokens             map[string]string // user id -> API token
	expectedRead       int64             // rows batch2 reads
	tIngest, tScan     time.Duration     // reference durations
	tReport, tVerdicts time.Duration
}

// cli runs medaudit and returns its standard output; a failure carries the
// end of its standard error.
func (h *harness) cli(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("medaudit %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// killAfter runs medaudit and sends it SIGKILL after delay. killed is true
// when the signal ended it; otherwise it finished first, and err is its
// failure if it failed.
func (h *harness) killAfter(ctx context.Context, delay time.Duration, args ...string) (killed bool, err error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
	err = cmd.Wait()
	timer.Stop()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("medaudit %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return false, nil
}

// within is a random delay in [0, d).
func (h *harness) within(d time.Duration) time.Duration {
	return time.Duration(h.rng.Int64N(int64(d) + 1))
}

// copyBase copies the demo database for one attempt.
func (h *harness) copyBase(name string) (string, error) {
	h.n++
	dst := filepath.Join(h.work, fmt.Sprintf("%s-%03d.duckdb", name, h.n))
	in, err := os.Open(h.base)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

// remove deletes a database copy and its companions.
func remove(db string) {
	for _, suffix := range []string{"", ".wal", ".tmp"} {
		os.RemoveAll(db + suffix)
	}
}

// checked is what `medaudit check` prints.
type checked struct {
	Events     int64            `json:"events"`
	Trail      string           `json:"trail"`
	Violations map[string]int64 `json:"violations"`
	Running    map[string]int64 `json:"running"`
}

// check runs `medaudit check` and records every broken invariant.
func (h *harness) check(ctx context.Context, db, when string, st *stats) (checked, error) {
	var c checked
	st.checks++
	out, err := h.cli(ctx, "check", "--db", db)
	if derr := decodeLast(out, &c); derr != nil {
		// The database did not open, or check could not run: a failure
		// of the crash-safety promise, not of the harness.
		st.fail("%s: check: %v", when, errors.Join(err, derr))
		return c, nil
	}
	if c.Trail != "intact" {
		st.fail("%s: %s", when, c.Trail)
	}
	for name, n := range c.Violations {
		if n != 0 {
			st.violations += n
			st.fail("%s: %s = %d", when, name, n)
		}
	}
	return c, nil
}

// server is a running `medaudit serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	done   chan struct{} // closed when the process has exited
	exited error         // its Wait error, set before done closes
}

// serve starts the server on db with a schedule file and waits until it
// listens.
func (h *harness) serve(ctx context.Context, db, schedules string) (*server, error) {
	log, err := os.OpenFile(filepath.Join(h.work, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, h.bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--schedules", schedules)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		log.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(log, line)
			if i := strings.Index(line, "msg=serving addr="); i >= 0 {
				addr <- strings.TrimSpace(line[i+len("msg=serving addr="):])
			}
		}
		s.exited = cmd.Wait()
		log.Close()
		close(s.done)
	}()
	select {
	case s.addr = <-addr:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("medaudit serve exited before serving: %v (see %s)", s.exited, log.Name())
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, errors.New("medaudit serve: not serving after 60 s")
	}
}

// kill sends SIGKILL and waits for the process; it may be called again.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop asks the server to shut down (SIGINT) and waits for it.
func (s *server) stop() error {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
		if s.exited != nil {
			return fmt.Errorf("medaudit serve did not stop cleanly: %w", s.exited)
		}
		return nil
	case <-time.After(60 * time.Second):
		s.kill()
		return errors.New("medaudit serve did not stop within 60 s of SIGINT")
	}
}

// reportRuns lists the report runs of db through the CLI.
func (h *harness) reportRuns(ctx context.Context, db string) ([]reports.Run, error) {
	out, err := h.cli(ctx, "report", "list", "--db", db, "--limit", "1000")
	if err != nil {
		return nil, err
	}
	var l struct{ Runs []reports.Run }
	return l.Runs, decodeLast(out, &l)
}

// redoneIn reports whether runs hold a done run of job for at.
func redoneIn(runs []reports.Run, job string, at time.Time) bool {
	for _, r := range runs {
		if r.Job == job && r.Status == "done" && r.ScheduledFor.Equal(at) {
			return true
		}
	}
	return false
}
