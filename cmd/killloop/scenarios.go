package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/medaudit/medaudit/pipeline"
)

// atFormat is the --at format of `medaudit report run`.
const atFormat = "2006-01-02T15:04"

// prepare builds the demo database, a second batch, schedule files and API
// tokens, and measures each piece of work once without a kill: the kill
// delays are drawn within those durations.
func (h *harness) prepare(ctx context.Context, persons int) error {
	h.base = filepath.Join(h.work, "base.duckdb")
	h.batch2 = filepath.Join(h.work, "batch2")
	h.sched, h.redo = filepath.Join(h.work, "schedules.yaml"), filepath.Join(h.work, "redo.yaml")
	t0 := time.Now()
	if _, err := h.cli(ctx, "demo", "--no-serve", "--db", h.base, "--dir", filepath.Join(h.work, "batch"), "--persons", strconv.Itoa(persons)); err != nil {
		return err
	}
	if _, err := h.cli(ctx, "fixtures", "--out", h.batch2, "--persons", strconv.Itoa(persons), "--seed", "7"); err != nil {
		return err
	}
	h.tokens = map[string]string{}
	for i := 1; i <= 10; i++ {
		if err := h.token(ctx, fmt.Sprintf("rev%02d", i)); err != nil {
			return err
		}
	}
	for _, user := range []string{"admin_demo", "aud_demo"} {
		if err := h.token(ctx, user); err != nil {
			return err
		}
	}
	for path, job := range map[string]string{h.sched: "quarterly", h.redo: "quarterly_redo"} {
		if err := os.WriteFile(path, []byte(scheduleYAML(job)), 0o644); err != nil {
			return err
		}
	}
	at, err := latest(scheduleYAML("quarterly"), "quarterly")
	if err != nil {
		return err
	}
	if h.redoAt, err = latest(scheduleYAML("quarterly_redo"), "quarterly_redo"); err != nil {
		return err
	}
	if _, err := h.cli(ctx, "report", "run", "--db", h.base, "--schedules", h.sched, "--job", "quarterly", "--at", at.Format(atFormat)); err != nil {
		return err
	}
	runs, err := h.reportRuns(ctx, h.base)
	if err != nil {
		return err
	}
	if !redoneIn(runs, "quarterly", at) {
		return fmt.Errorf("the prepared quarterly run for %s is not listed as done: %+v", at, runs)
	}
	slog.Info("demo database ready", "persons", persons, "seconds", time.Since(t0).Seconds())

	ref, err := h.copyBase("reference")
	if err != nil {
		return err
	}
	defer remove(ref)
	t := time.Now()
	out, err := h.cli(ctx, "ingest", "-q", "--db", ref, h.batch2)
	if err != nil {
		return err
	}
	h.tIngest = time.Since(t)
	var sum pipeline.Summary
	if err := decodeLast(out, &sum); err != nil {
		return err
	}
	h.expectedRead = sum.Totals.Read
	t = time.Now()
	if _, err := h.cli(ctx, "scan", "--db", ref); err != nil {
		return err
	}
	h.tScan = time.Since(t)
	t = time.Now()
	if _, err := h.cli(ctx, "report", "run", "--db", ref, "--schedules", h.redo, "--job", "quarterly_redo", "--at", h.redoAt.Format(atFormat)); err != nil {
		return err
	}
	h.tReport = time.Since(t)

	vref, err := h.copyBase("reference")
	if err != nil {
		return err
	}
	defer remove(vref)
	srv, err := h.serve(ctx, vref, h.sched)
	if err != nil {
		return err
	}
	t = time.Now()
	st := &stats{}
	acked := h.storm(ctx, srv.addr, st)
	h.tVerdicts = time.Since(t)
	if err := srv.stop(); err != nil {
		return err
	}
	if len(acked) == 0 || st.http5xx > 0 {
		return fmt.Errorf("reference verdict storm: %d verdicts acknowledged, %d answers 5xx: %v", len(acked), st.http5xx, st.failures)
	}
	slog.Info("reference durations", "ingest", h.tIngest, "rows", h.expectedRead, "scan", h.tScan, "report", h.tReport,
		"verdicts", h.tVerdicts, "verdicts_acknowledged", len(acked))
	return nil
}

func (h *harness) token(ctx context.Context, user string) error {
	out, err := h.cli(ctx, "users", "token", "--db", h.base, "--id", user, "--label", "killloop")
	if err != nil {
		return err
	}
	var t struct{ Token string }
	if err := decodeLast(out, &t); err != nil || t.Token == "" {
		return fmt.Errorf("token for %s: %v", user, err)
	}
	h.tokens[user] = t.Token
	return nil
}

// killIngest kills `medaudit ingest` of a new batch; the batch must be
// wholly in or out, and ingesting it again must load it with every row
// accounted for.
func (h *harness) killIngest(ctx context.Context, st *stats) error {
	db, err := h.copyBase("ingest")
	if err != nil {
		return err
	}
	defer remove(db)
	killed, err := h.killAfter(ctx, h.within(h.tIngest), "ingest", "-q", "--db", db, h.batch2)
	if err != nil || !killed {
		st.completed++
		h.tIngest = shrink(h.tIngest)
		return err
	}
	st.kills++
	st.batches++
	failures := len(st.failures)
	if _, err := h.check(ctx, db, "after a killed ingest", st); err != nil {
		return err
	}
	st.rowsExpected += h.expectedRead
	out, err := h.cli(ctx, "ingest", "-q", "--db", db, h.batch2)
	if err != nil {
		st.fail("ingest again after the kill: %v", err)
		return nil
	}
	var sum pipeline.Summary
	if err := decodeLast(out, &sum); err != nil {
		st.fail("ingest again after the kill: %v", err)
		return nil
	}
	t := sum.Totals
	if t.Read == h.expectedRead && t.Read == t.Loaded+t.Quarantined+t.Unchanged+t.Corrected {
		st.rowsAccounts += t.Read
	} else {
		st.fail("ingest again after the kill: read %d (want %d) = loaded %d + quarantined %d + unchanged %d + corrected %d", t.Read, h.expectedRead, t.Loaded, t.Quarantined, t.Unchanged, t.Corrected)
	}
	if _, err := h.check(ctx, db, "after ingesting again", st); err != nil {
		return err
	}
	if len(st.failures) == failures {
		st.batchesIntact++
	}
	return nil
}

// shrink narrows a kill window after the process finished before its kill:
// the reference duration was measured on a busier machine.
func shrink(d time.Duration) time.Duration {
	return max(d*3/4, 100*time.Millisecond)
}

// killScan kills `medaudit scan`: no flag of the unfinished scan may be
// stored, and the restarted server must close the scan left running.
func (h *harness) killScan(ctx context.Context, st *stats) error {
	db, err := h.copyBase("scan")
	if err != nil {
		return err
	}
	defer remove(db)
	killed, err := h.killAfter(ctx, h.within(h.tScan*9/10), "scan", "--db", db)
	if err != nil || !killed {
		st.completed++
		h.tScan = shrink(h.tScan)
		return err
	}
	st.kills++
	return h.restartClosesScans(ctx, db, "after a killed scan", st)
}

// restartClosesScans checks db after a kill, restarts the server on it and
// checks that the server closed every scan the kill left running.
func (h *harness) restartClosesScans(ctx context.Context, db, after string, st *stats) error {
	c, err := h.check(ctx, db, after, st)
	if err != nil {
		return err
	}
	running := c.Running["scans"]
	st.interrupted += int(running)
	srv, err := h.serve(ctx, db, h.sched)
	if err != nil {
		st.fail("serve %s: %v", after, err)
		return nil
	}
	if err := srv.stop(); err != nil {
		st.fail("%v", err)
	}
	if c, err = h.check(ctx, db, "after the server restarted", st); err != nil {
		return err
	}
	if n := c.Running["scans"]; n != 0 {
		st.fail("the restarted server left %d scans running", n)
	} else {
		st.closed += int(running)
	}
	return nil
}

// killVerdicts has an auditor start a scan in the server and ten reviewers
// post verdicts through the API meanwhile, and kills the server: every
// acknowledged verdict must be stored with its event, no verdict, case or
// flag half-written, and the restarted server must close the scan.
func (h *harness) killVerdicts(ctx context.Context, st *stats) error {
	db, err := h.copyBase("verdicts")
	if err != nil {
		return err
	}
	defer remove(db)
	srv, err := h.serve(ctx, db, h.sched)
	if err != nil {
		return err
	}
	if code, answer, err := post(ctx, srv.addr, "/api/v1/scans", h.tokens["aud_demo"], ""); err != nil || code != http.StatusAccepted {
		st.fail("POST /api/v1/scans: %v HTTP %d %.200s", err, code, answer)
		if code >= 500 {
			st.http5xx++
		}
	}
	timer := time.AfterFunc(h.within(max(h.tVerdicts, h.tScan)), srv.kill)
	acked := h.storm(ctx, srv.addr, st)
	timer.Stop()
	srv.kill() // a no-op when the timer already did
	st.kills++
	st.acked += len(acked)
	lost, err := missingVerdicts(ctx, db, acked)
	if err != nil {
		st.fail("read verdicts after the kill: %v", err)
	}
	for _, v := range lost {
		st.fail("verdict of %s on %s was acknowledged and is lost", v.expert, v.caseID)
	}
	st.lost += len(lost)
	return h.restartClosesScans(ctx, db, "after killing the server during verdicts and a scan", st)
}

// killReports kills a report run, from the CLI (odd attempts) or in the
// server's scheduler catching up at start-up (even ones); the restarted
// server must redo the occurrence, and no file of an unfinished run exist.
func (h *harness) killReports(ctx context.Context, st *stats) error {
	db, err := h.copyBase("reports")
	if err != nil {
		return err
	}
	defer remove(db)
	delay := h.within(h.tReport * 8 / 10)
	if h.n%2 == 1 {
		killed, err := h.killAfter(ctx, delay, "report", "run", "--db", db, "--schedules", h.redo, "--job", "quarterly_redo", "--at", h.redoAt.Format(atFormat))
		if err != nil || !killed {
			st.completed++
			return err
		}
	} else {
		srv, err := h.serve(ctx, db, h.redo)
		if err != nil {
			return err
		}
		time.Sleep(delay)
		srv.kill()
	}
	st.kills++
	if _, err := h.check(ctx, db, "after a killed report run", st); err != nil {
		return err
	}
	runs, err := h.reportRuns(ctx, db)
	if err != nil {
		st.fail("report list after the kill: %v", err)
		return nil
	}
	if redoneIn(runs, "quarterly_redo", h.redoAt) {
		return nil // the run committed before the kill
	}
	st.redo++
	srv, err := h.serve(ctx, db, h.redo)
	if err != nil {
		st.fail("serve after a killed report run: %v", err)
		return nil
	}
	deadline := time.Now().Add(2*h.tReport + time.Minute)
	for !h.apiRedone(ctx, srv.addr) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if err := srv.stop(); err != nil {
		st.fail("%v", err)
	}
	c, err := h.check(ctx, db, "after the scheduler redid the run", st)
	if err != nil {
		return err
	}
	if runs, err = h.reportRuns(ctx, db); err != nil || !redoneIn(runs, "quarterly_redo", h.redoAt) || c.Running["report_runs"] != 0 {
		st.fail("the restarted server did not redo the interrupted report run for %s (%v)", h.redoAt.Format(atFormat), err)
		return nil
	}
	st.redone++
	return nil
}

// apiRedone asks the server whether the redo job's occurrence is done.
func (h *harness) apiRedone(ctx context.Context, addr string) bool {
	var l struct {
		Reports []struct {
			Job          string
			Status       string
			ScheduledFor time.Time `json:"scheduled_for"`
		}
	}
	if err := h.getJSON(ctx, addr, "/api/v1/reports", h.tokens["admin_demo"], &l); err != nil {
		return false
	}
	for _, r := range l.Reports {
		if r.Job == "quarterly_redo" && r.Status == "done" && r.ScheduledFor.Equal(h.redoAt) {
			return true
		}
	}
	return false
}

var client = &http.Client{Timeout: 30 * time.Second}

func (h *harness) getJSON(ctx context.Context, addr, path, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// verdict is one reviewer's verdict on a case.
type verdict struct{ caseID, expert string }

// storm has each of the ten demo reviewers post a verdict on every case of
// their queue, concurrently, until their queues are empty or the server is
// gone. It returns the verdicts the server acknowledged and counts 5xx
// answers in st.
func (h *harness) storm(ctx context.Context, addr string, st *stats) []verdict {
	var (
		mu    sync.Mutex
		acked []verdict
		wg    sync.WaitGroup
	)
	for i := 1; i <= 10; i++ {
		user, expert := fmt.Sprintf("rev%02d", i), fmt.Sprintf("dr%02d", i)
		token := h.tokens[user]
		seed := h.rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tried := map[string]bool{}
			for n := uint64(seed); ; {
				var q struct {
					Cases []struct {
						ID string `json:"case_id"`
					}
				}
				if err := h.getJSON(ctx, addr, "/api/v1/queue", token, &q); err != nil {
					return // the server is gone
				}
				next := ""
				for _, c := range q.Cases {
					if !tried[c.ID] {
						next = c.ID
						break
					}
				}
				if next == "" {
					return
				}
				tried[next] = true
				n = n*6364136223846793005 + 1442695040888963407
				body := `{"verdict":"no_violation","amount":"0.00","comment":"killloop"}`
				if n>>63 == 1 {
					body = `{"verdict":"violation","amount":"1.00","comment":"killloop"}`
				}
				code, answer, err := post(ctx, addr, "/api/v1/cases/"+next+"/verdict", token, body)
				if err != nil {
					return
				}
				mu.Lock()
				switch {
				case code == http.StatusOK:
					acked = append(acked, verdict{next, expert})
				case code >= 500:
					st.http5xx++
					st.fail("verdict of %s on %s: HTTP %d %.200s", expert, next, code, answer)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acked
}

func post(ctx context.Context, addr, path, token, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewBufferString(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// missingVerdicts lists the acknowledged verdicts the database lacks.
func missingVerdicts(ctx context.Context, db string, acked []verdict) ([]verdict, error) {
	d, err := pipeline.Open(ctx, db, pipeline.DBConfig{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var lost []verdict
	for _, v := range acked {
		var n int
		if err := d.QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE case_id = ? AND expert_id = ? AND verdict IS NOT NULL`,
			v.caseID, v.expert).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			lost = append(lost, v)
		}
	}
	return lost, nil
}
