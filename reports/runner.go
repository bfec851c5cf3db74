package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
)

// Runner executes jobs one at a time against one database.
type Runner struct {
	db        *sql.DB
	cfg       Config
	now       func() time.Time
	detectors []detectors.Detector
	writer    Writer
	backupDir string
	backup    BackupFunc

	mu sync.Mutex // one run at a time
}

// Writer is the process's lock on long writes (api.Server.Writer): a run
// holds it from its marker to its last commit, so that no upload or scan of
// the API writes at the same time.
type Writer interface {
	Acquire(what string)
	Release()
}

// UseWriter makes every run hold w. Call it before Serve.
func (r *Runner) UseWriter(w Writer) { r.writer = w }

// NewRunner returns a runner for a validated config; ds are the detectors
// a scanning job runs (detectors.Registry).
func NewRunner(db *sql.DB, cfg Config, ds []detectors.Detector, now func() time.Time) *Runner {
	return &Runner{db: db, cfg: cfg, now: now, detectors: ds}
}

// Config is the runner's schedule config.
func (r *Runner) Config() Config { return r.cfg }

// Run executes job for its occurrence at scheduled: it records a 'running'
// marker, scans and opens cases when the job says so, renders the reports
// and stores them with inputs.json, the run's status becoming 'done' in the
// same transaction. A failure marks the run failed with the error.
func (r *Runner) Run(ctx context.Context, job Job, scheduled time.Time) (Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.writer != nil {
		r.writer.Acquire("report " + job.Name)
		defer r.writer.Release()
	}
	scheduled = scheduled.In(r.cfg.Location())
	started := r.now()
	id, err := begin(ctx, r.db, job, scheduled, started)
	if err != nil {
		return Run{}, err
	}
	slog.Info("report run started", "run", id, "job", job.Name, "scheduled_for", scheduled)
	files, in, err := r.execute(ctx, id, job, scheduled)
	if err == nil {
		var body []byte
		if body, err = json.MarshalIndent(in, "", "  "); err == nil {
			files = append(files, newFile("inputs.json", MediaJSON, body))
			err = finish(ctx, r.db, id, files, body, r.now())
		}
	}
	if err != nil {
		err = fmt.Errorf("report job %s (run %d): %w", job.Name, id, err)
		if ferr := fail(ctx, r.db, id, err, r.now()); ferr != nil {
			slog.Error("record failed report run", "run", id, "err", ferr)
		}
		slog.Error("report run failed", "run", id, "job", job.Name, "err", err)
		return Run{}, err
	}
	slog.Info("report run done", "run", id, "job", job.Name, "files", len(files), "seconds", r.now().Sub(started).Seconds())
	return r.get(ctx, id)
}

func (r *Runner) get(ctx context.Context, id int64) (Run, error) {
	runs, err := List(ctx, r.db, 0)
	if err != nil {
		return Run{}, err
	}
	for _, run := range runs {
		if run.ID == id {
			return run, nil
		}
	}
	return Run{}, fmt.Errorf("%w: report run %d", ErrNotFound, id)
}

func (r *Runner) execute(ctx context.Context, id int64, job Job, scheduled time.Time) ([]File, inputs, error) {
	in := inputs{FormatVersion: FormatVersion, Generator: generatorVersion(), Job: job, TimeZone: r.cfg.Location().String(),
		ScheduledFor: scheduled, Detectors: describeDetectors(r.detectors)}
	if job.Scan {
		if _, err := detectors.ScanWith(ctx, r.db, r.detectors, r.now,
			detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Incremental: job.Incremental}); err != nil {
			return nil, in, err
		}
		opened, err := casebook.NewStore(r.db, r.now).OpenCases(ctx, "system:scheduler")
		if err != nil {
			return nil, in, err
		}
		in.Cases = opened
	}
	if err := collectInputs(ctx, r.db, &in); err != nil {
		return nil, in, fmt.Errorf("collect inputs: %w", err)
	}
	b := newBuilder(r.db, r.now, r.detectors)
	b.meta = [][2]string{{"运行编号 Run", fmt.Sprintf("%d（%s）", id, job.Name)}}
	if in.Scan != nil {
		b.meta = append(b.meta, [2]string{"扫描 Scan", fmt.Sprintf("%d（%s）", in.Scan.ScanID, in.Scan.FinishedAt.In(r.cfg.Location()).Format("2006-01-02 15:04"))})
	}
	switch job.Kind {
	case MonthlyScan:
		p := monthBefore(scheduled)
		in.Period = p.Key
		files, err := b.monthly(ctx, p, job.Districts)
		return files, in, err
	case QuarterlyInspection:
		p := quarterBefore(scheduled)
		in.Period = p.Key
		orgs, err := b.hospitals(ctx, p, job.Districts)
		if err != nil {
			return nil, in, err
		}
		var files []File
		for _, org := range orgs {
			fs, err := b.inspection(ctx, org, p, job.Districts)
			if err != nil {
				return nil, in, err
			}
			files = append(files, fs...)
		}
		return files, in, nil
	case AnnualScoring:
		p := yearBefore(scheduled)
		in.Period = p.Key
		rate := job.WithheldRate
		if rate == 0 {
			rate = 1000
		}
		files, err := b.annual(ctx, p, job.Districts, rate)
		return files, in, err
	}
	files, err := r.runTask(ctx, job, scheduled)
	return files, in, err
}

// RunNow runs the configured job called name for the occurrence at (a
// manual run; the scheduler counts it as that occurrence's run).
func (r *Runner) RunNow(ctx context.Context, name string, at time.Time) (Run, error) {
	job, err := r.cfg.Job(name)
	if err != nil {
		return Run{}, err
	}
	return r.Run(ctx, job, at)
}

// CatchUp runs, one after the other, every job whose latest occurrence at
// or before now has no done run: missed while the service was down, failed
// or interrupted. Only the latest occurrence of a job is run, not every
// missed one.
func (r *Runner) CatchUp(ctx context.Context) ([]Run, error) {
	var out []Run
	for _, job := range r.cfg.Jobs {
		at, ok := job.Latest(r.now().In(r.cfg.Location()))
		if !ok {
			continue
		}
		ok, err := done(ctx, r.db, job.Name, at)
		if err != nil {
			return out, err
		}
		if ok {
			continue
		}
		run, err := r.Run(ctx, job, at)
		if err != nil {
			if ctx.Err() != nil {
				return out, err
			}
			continue // recorded as failed; retried at the next wake-up
		}
		out = append(out, run)
	}
	return out, nil
}

// Serve marks the runs a previous process left 'running' as failed, catches
// up, then runs the jobs on schedule until ctx is cancelled. A run in
// progress when ctx is cancelled is abandoned and redone at the next start.
func (r *Runner) Serve(ctx context.Context) error {
	n, err := markInterrupted(ctx, r.db, r.now())
	if err != nil {
		return err
	}
	if n > 0 {
		slog.Warn("report runs interrupted by the last shutdown will be redone", "runs", n)
	}
	for {
		if _, err := r.CatchUp(ctx); err != nil && ctx.Err() == nil {
			slog.Error("report catch-up", "err", err)
		}
		now := r.now().In(r.cfg.Location())
		var next time.Time
		for _, job := range r.cfg.Jobs {
			if t := job.Next(now); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		if next.IsZero() {
			<-ctx.Done()
			return nil
		}
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}
