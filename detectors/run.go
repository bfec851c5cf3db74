package detectors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/medaudit/medaudit/contract"
)

// flagReader is the optional capability of a detector that reads the flags
// other detectors raise (card_misuse.hub_pharmacy reads the card rules').
// When every detector it reads runs in the same scan, the scan runs it last,
// over their flags of this scan, instead of letting it run them again.
type flagReader interface {
	Detector
	// Reads names the detectors whose flags it reads.
	Reads() []string
	// DetectFrom is Detect given those detectors' flags of this scan.
	DetectFrom(ctx context.Context, q Querier, flags []Flag) ([]Flag, error)
}

// detected is what one detector returned, with its time: its flags, or
// how many it stored itself.
type detected struct {
	detector Detector
	flags    []Flag
	stored   int64
	seconds  float64
}

// count is the number of flags the detector raised.
func (r detected) count() int { return len(r.flags) + int(r.stored) }

// runDetectors runs ds over db, up to workers at a time, each on its own
// connection, and hands each detector's result to emit in the order of ds.
// A SQL detector stores its flags into the table store; a FlagStreamer
// hands each of its flags to sink as it builds it (sink must be safe for
// concurrent use); the others return theirs, sorted by subject. It stops
// at the first error. The readers of
// other detectors' flags whose detectors all run here are left out and
// returned: the scan runs them once this scan's flags are complete
// (runReaders).
//
// Every detector reads the scan's shared intermediates (work); the
// per-person detectors of an incremental scan read its scope.
func runDetectors(ctx context.Context, db *sql.DB, ds []Detector, workers int, store string, work *scanWork,
	sink func(Detector, *Flag) error, emit func(detected) error) ([]flagReader, error) {
	large, err := largeBatch(ctx, db)
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		// On a large batch one detector at a time: DuckDB spreads each
		// query over the cores itself, and two large queries at once
		// contend for its memory limit and spill (largeBatchLines).
		workers = runtime.NumCPU()
		if large {
			workers = 1
		}
	}
	present := map[string]bool{}
	for _, d := range ds {
		present[d.Name()] = true
	}
	// The recompute detectors share one computation per scan, the largest
	// of the scan: on a large batch run by several workers the first of
	// them runs alone, before the others (two large queries at once can
	// exhaust DuckDB's memory limit where one spills), and the rest then
	// read its result. Otherwise it runs first, beside the others when
	// there are several workers, which wait for its result (scanState) if
	// they come to it first. Where the others cannot wait on it (one
	// worker, or the recompute run alone), they run right after it, so that
	// the scan lets its result go (scanState.expectRecomputeUsers) before
	// the other detectors rather than holding it to the end.
	var first, shared []Detector
	var readers []flagReader
	for _, d := range ds {
		if r, ok := d.(flagReader); ok && all(r.Reads(), present) {
			readers = append(readers, r)
			continue
		}
		if _, ok := d.(PolicyUser); ok {
			shared = append(shared, d)
			continue
		}
		first = append(first, d)
	}
	detect := func(ctx context.Context, q Querier, d Detector) (detected, error) {
		if sd, ok := d.(*SQLDetector); ok {
			n, err := sd.Store(ctx, q, store)
			return detected{detector: d, stored: n}, err
		}
		if fs, ok := d.(FlagStreamer); ok {
			var n atomic.Int64
			err := fs.DetectEach(ctx, q, func(f Flag) error { n.Add(1); return sink(d, &f) })
			return detected{detector: d, stored: n.Load()}, err
		}
		flags, err := d.Detect(ctx, q)
		return detected{detector: d, flags: flags}, err
	}
	if len(shared) > 0 {
		if st := scanStateOf(ctx); st != nil {
			st.expectRecomputeUsers(len(shared))
		}
		switch {
		case workers == 1:
			first = append(shared[:len(shared):len(shared)], first...)
		case !large:
			first = append(append(shared[:1:1], first...), shared[1:]...)
		default:
			if err := runPool(ctx, db, shared[:1], 1, work, detect, emit); err != nil {
				return nil, err
			}
			first = append(shared[1:len(shared):len(shared)], first...)
		}
	}
	return readers, runPool(ctx, db, first, workers, work, detect, emit)
}

// Several workers share DuckDB's threads: while they run, each query runs
// on the threads divided by the workers (at least one), so that the
// detectors running at once fill the cores between them instead of each
// spreading over all of them and contending. At 100 k persons (4.1 M fee
// lines) on 2 cores, 2 workers, 3 runs each with the binaries alternating:
// the scan took 7.42-7.61 s with one thread per query against 8.05-8.36 s
// with two, its CPU 12.7-13.1 s against 14.3-14.8 s (the README's
// figures); 3 workers of one thread were slower than 2. DuckDB's threads are a setting of the database, not of a
// connection: while a scan's detectors run, the process's other queries on
// that database get as many threads as each detector. Scans of one
// database at once share the lowered setting; the last to finish restores
// what it was.
var (
	threadsMu sync.Mutex
	threadsOf = map[*sql.DB]*threadShare{}
)

// threadShare is the lowered thread setting of a database: what it was,
// and the scans running under it.
type threadShare struct {
	saved int
	scans int
}

// shareThreads divides db's threads among workers and returns what
// restores them.
func shareThreads(ctx context.Context, db *sql.DB, workers int) (func() error, error) {
	threadsMu.Lock()
	defer threadsMu.Unlock()
	s := threadsOf[db]
	if s == nil {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT current_setting('threads')`).Scan(&n); err != nil {
			return nil, fmt.Errorf("threads: %w", err)
		}
		per := max(1, n/workers)
		if per == n {
			return func() error { return nil }, nil
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", per)); err != nil {
			return nil, fmt.Errorf("threads: %w", err)
		}
		s = &threadShare{saved: n}
		threadsOf[db] = s
	}
	s.scans++
	return func() error {
		threadsMu.Lock()
		defer threadsMu.Unlock()
		if s.scans--; s.scans > 0 {
			return nil
		}
		delete(threadsOf, db)
		if _, err := db.ExecContext(context.Background(), fmt.Sprintf("SET threads = %d", s.saved)); err != nil {
			return fmt.Errorf("threads: %w", err)
		}
		return nil
	}, nil
}

// largeBatchLines is the number of fee lines from which a scan runs one
// detector at a time (and several workers run the recompute alone).
// Measured on 2 cores with the default 2 GB limit, one worker against two:
// 10.3 against 9.5 s at 4.1 M lines (100 k persons), 29.0 against 29.1 s at
// 12.5 M (300 k), 107.2 against 117.1 s and 2.61 against 2.99 GB peak RSS
// at 41.8 M (1 M persons). (A variable so that a test can run both ways.)
var largeBatchLines int64 = 5_000_000

// largeBatch reports whether the loaded fee lines reach largeBatchLines
// (DuckDB's row count of the table, no scan).
func largeBatch(ctx context.Context, db *sql.DB) (bool, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'fee_items'`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count fee lines: %w", err)
	}
	return n >= largeBatchLines, nil
}

// runReaders runs each reader on conn over the flags of new_flags of the
// detectors it reads (in the order it names them, each by subject), and
// hands its result to emit.
func runReaders(ctx context.Context, conn *sql.Conn, readers []flagReader, emit func(detected) error) error {
	for _, r := range readers {
		t0 := time.Now()
		var in []Flag
		for _, n := range r.Reads() {
			fs, err := scanFlags(ctx, conn, n)
			if err != nil {
				return fmt.Errorf("detector %s: read the flags of %s: %w", r.Name(), n, err)
			}
			in = append(in, fs...)
		}
		flags, err := r.DetectFrom(ctx, conn, in)
		if err != nil {
			return fmt.Errorf("detector %s: %w", r.Name(), err)
		}
		sort.Slice(flags, func(a, b int) bool { return flags[a].SubjectID < flags[b].SubjectID })
		res := detected{detector: r, flags: flags, seconds: time.Since(t0).Seconds()}
		slog.Info("detector done", "detector", r.Name(), "flags", res.count(), "seconds", res.seconds)
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}

// scanFlags reads the flags of detector from new_flags, by subject, with
// what a reader uses: subject, institution, score, amount and the
// evidence's summary.
func scanFlags(ctx context.Context, conn *sql.Conn, detector string) ([]Flag, error) {
	rows, err := conn.QueryContext(ctx, `SELECT detector, family, subject_type, subject_id, coalesce(org_code, ''), score,
			amount_at_risk::VARCHAR, coalesce(json_extract_string(evidence, '$.summary'), '')
		FROM new_flags WHERE detector = ? ORDER BY subject_id`, detector)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Flag
	for rows.Next() {
		var f Flag
		var amount string
		if err := rows.Scan(&f.Detector, &f.Family, &f.SubjectType, &f.SubjectID, &f.OrgCode, &f.Score, &amount, &f.Evidence.Summary); err != nil {
			return nil, err
		}
		if f.AmountAtRisk, err = contract.ParseFen(amount); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// runPool runs detect for each of ds on up to workers connections and calls
// emit in the order of ds. Each connection reads what work says the
// detector it runs reads.
func runPool(ctx context.Context, db *sql.DB, ds []Detector, workers int, work *scanWork,
	detect func(context.Context, Querier, Detector) (detected, error), emit func(detected) error) (err error) {
	if len(ds) == 0 {
		return nil
	}
	// The workers' connections are opened first: a new connection applies
	// the database's settings (pipeline.Open), its threads among them,
	// which would undo shareThreads.
	conns := make([]*sql.Conn, min(workers, len(ds)))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		if conns[i], err = db.Conn(ctx); err != nil {
			return err
		}
	}
	if len(conns) > 1 {
		var restore func() error
		if restore, err = shareThreads(ctx, db, len(conns)); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, restore()) }()
	}
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int)
	done := make([]chan detected, len(ds))
	for i := range done {
		done[i] = make(chan detected, 1)
	}
	g.Go(func() error {
		defer close(next)
		for i := range ds {
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for _, conn := range conns {
		g.Go(func() error {
			state := readTables
			defer work.use(context.WithoutCancel(gctx), conn, readTables, &state)
			for i := range next {
				d := ds[i]
				t0 := time.Now()
				if err := work.use(gctx, conn, work.reads(d), &state); err != nil {
					return err
				}
				res, err := detect(gctx, conn, d)
				if err != nil {
					return fmt.Errorf("detector %s: %w", d.Name(), err)
				}
				sort.Slice(res.flags, func(a, b int) bool { return res.flags[a].SubjectID < res.flags[b].SubjectID })
				res.seconds = time.Since(t0).Seconds()
				slog.Info("detector done", "detector", d.Name(), "flags", res.count(), "seconds", res.seconds)
				done[i] <- res
			}
			return nil
		})
	}
	g.Go(func() error {
		for i := range ds {
			select {
			case res := <-done[i]:
				if err := emit(res); err != nil {
					return err
				}
				releaseHeap()
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// heapRetain is how much heap Go may keep between two detectors before
// releaseHeap returns it.
const heapRetain = 64 << 20

// releaseHeap collects the garbage of the detectors run so far and returns
// the freed memory to the system when the heap holds more than heapRetain.
// The collector runs only as the heap grows; the detectors that follow a
// large one run in DuckDB's memory, not Go's, so its garbage stayed: at 1 M
// persons the settlement checks left ~180 MB in the heap through the next
// 30 s of the scan, which is where the scan's resident set peaked.
func releaseHeap() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapInuse+m.HeapIdle-m.HeapReleased > heapRetain {
		debug.FreeOSMemory()
	}
}

func all(names []string, present map[string]bool) bool {
	for _, n := range names {
		if !present[n] {
			return false
		}
	}
	return len(names) > 0
}
