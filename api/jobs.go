package api

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DuckDB allows one writing process, and the server is it: batches, scans
// and scheduled reports all write through this one process. Long writes
// (ingest, scan) run one at a time in the background; a request for a
// second one while the first runs is refused with 409 so that the client
// retries, rather than queued invisibly. Short writes (verdicts, case
// actions) go straight to DuckDB, whose transactions keep them atomic.

// Writer serialises the server's long writes. Other writers in the same
// process (the report scheduler) take it too.
type Writer struct {
	mu        sync.Mutex
	running   string // what holds it, for the 409 message
	held      sync.Mutex
	onRelease func() // the server's cache learns that data may have changed
}

// TryAcquire takes the writer for what, or reports what holds it.
func (w *Writer) TryAcquire(what string) (busy string, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.held.TryLock() {
		return w.running, false
	}
	w.running = what
	return "", true
}

// Acquire waits for the writer.
func (w *Writer) Acquire(what string) {
	w.held.Lock()
	w.mu.Lock()
	w.running = what
	w.mu.Unlock()
}

// Release frees the writer after its holder has committed or rolled back.
func (w *Writer) Release() {
	w.mu.Lock()
	w.running = ""
	w.mu.Unlock()
	if w.onRelease != nil {
		w.onRelease()
	}
	w.held.Unlock()
}

// job is a background write the API started, as its status route shows it
// until the database has the final record.
type job struct {
	Kind      string    `json:"kind"` // ingest | scan
	ID        string    `json:"id"`
	Status    string    `json:"status"` // running | done | failed
	StartedAt time.Time `json:"started_at"`
	Error     string    `json:"error,omitempty"`
	Result    any       `json:"result,omitempty"`
}

// jobs tracks the background writes and lets the server wait for them.
type jobs struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	byKey  map[string]*job
}

func newJobs() *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{ctx: ctx, cancel: cancel, byKey: map[string]*job{}}
}

// start runs fn in the background; the caller holds the writer, which is
// released when fn returns.
func (j *jobs) start(w *Writer, kind, id string, now time.Time, fn func(ctx context.Context) (any, error)) *job {
	jb := &job{Kind: kind, ID: id, Status: "running", StartedAt: now}
	j.mu.Lock()
	j.byKey[kind+"/"+id] = jb
	j.mu.Unlock()
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer w.Release()
		res, err := fn(j.ctx)
		j.mu.Lock()
		defer j.mu.Unlock()
		jb.Result = res
		if err != nil {
			jb.Status, jb.Error = "failed", err.Error()
			slog.Warn("background job failed", "kind", kind, "id", id, "err", err)
			return
		}
		jb.Status = "done"
	}()
	return jb
}

// get returns a copy of the job's state.
func (j *jobs) get(kind, id string) (job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb, ok := j.byKey[kind+"/"+id]
	if !ok {
		return job{}, false
	}
	return *jb, true
}

// Close cancels the background writes and waits for them to stop; each
// rolls back what it had not committed.
func (s *Server) Close() {
	s.jobs.cancel()
	s.jobs.wg.Wait()
}

// Writer is the server's writer lock, for other writers in the process.
func (s *Server) Writer() *Writer { return s.writer }
