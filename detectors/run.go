package detectors

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
)

// flagReader is the optional capability of a detector that reads the flags
// other detectors raise (card_misuse.hub_pharmacy reads the card rules').
// When every detector it reads runs in the same scan, the scan runs it after
// them with their flags instead of letting it run them again.
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
// connection, and hands each detector's result to emit in the order of ds
// (readers of other detectors' flags after them). A SQL detector stores its
// flags into the table store; the others return theirs, sorted by subject.
// It stops at the first error.
//
// With a scope (an incremental scan), the per-person detectors read the
// scope's rows, and a reader of other detectors' flags runs on its own
// (those detectors' flags of this scan cover the scope only).
func runDetectors(ctx context.Context, db *sql.DB, ds []Detector, workers int, store string, scope *personScope, emit func(detected) error) error {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	present := map[string]bool{}
	for _, d := range ds {
		present[d.Name()] = true
	}
	// The recompute detectors share one computation per scan, the largest
	// of the scan: the first of them runs alone, before the others (two
	// large queries at once can exhaust DuckDB's memory limit where one
	// spills), and the rest then read its result.
	var first, shared []Detector
	var readers []flagReader
	for _, d := range ds {
		if r, ok := d.(flagReader); ok && all(r.Reads(), present) && scope == nil {
			readers = append(readers, r)
			continue
		}
		if _, ok := d.(PolicyUser); ok {
			shared = append(shared, d)
			continue
		}
		first = append(first, d)
	}
	if len(shared) > 0 {
		if err := runPool(ctx, db, shared[:1], 1, scope, func(ctx context.Context, q Querier, d Detector) (detected, error) {
			flags, err := d.Detect(ctx, q)
			return detected{detector: d, flags: flags}, err
		}, emit); err != nil {
			return err
		}
		first = append(first, shared[1:]...)
	}
	// flags kept for the readers, by detector
	wanted := map[string][]Flag{}
	for _, r := range readers {
		for _, n := range r.Reads() {
			wanted[n] = nil
		}
	}
	collect := func(res detected) error {
		if _, ok := wanted[res.detector.Name()]; ok {
			wanted[res.detector.Name()] = res.flags
		}
		return emit(res)
	}
	if err := runPool(ctx, db, first, workers, scope, func(ctx context.Context, q Querier, d Detector) (detected, error) {
		if sd, ok := d.(*SQLDetector); ok {
			if _, read := wanted[d.Name()]; !read {
				n, err := sd.Store(ctx, q, store)
				return detected{detector: d, stored: n}, err
			}
		}
		flags, err := d.Detect(ctx, q)
		return detected{detector: d, flags: flags}, err
	}, collect); err != nil {
		return err
	}
	rs := make([]Detector, len(readers))
	for i, r := range readers {
		rs[i] = r
	}
	return runPool(ctx, db, rs, workers, scope, func(ctx context.Context, q Querier, d Detector) (detected, error) {
		r := d.(flagReader)
		var in []Flag
		for _, n := range r.Reads() {
			in = append(in, wanted[n]...)
		}
		flags, err := r.DetectFrom(ctx, q, in)
		return detected{detector: d, flags: flags}, err
	}, emit)
}

// runPool runs detect for each of ds on up to workers connections and calls
// emit in the order of ds. A per-person detector reads through the scope,
// when there is one.
func runPool(ctx context.Context, db *sql.DB, ds []Detector, workers int, scope *personScope,
	detect func(context.Context, Querier, Detector) (detected, error), emit func(detected) error) error {
	if len(ds) == 0 {
		return nil
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
	for range min(workers, len(ds)) {
		g.Go(func() error {
			conn, err := db.Conn(gctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			scoped := false
			defer scope.use(context.WithoutCancel(gctx), conn, false, &scoped)
			for i := range next {
				d := ds[i]
				t0 := time.Now()
				if err := scope.use(gctx, conn, perPersonDetector(d), &scoped); err != nil {
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
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

func all(names []string, present map[string]bool) bool {
	for _, n := range names {
		if !present[n] {
			return false
		}
	}
	return len(names) > 0
}
