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

// detected is what one detector returned, with its time.
type detected struct {
	detector Detector
	flags    []Flag
	seconds  float64
}

// runDetectors runs ds over db, up to workers at a time, each on its own
// connection, and hands each detector's flags, sorted by subject, to emit in
// the order of ds (readers of other detectors' flags after them). It stops
// at the first error.
func runDetectors(ctx context.Context, db *sql.DB, ds []Detector, workers int, emit func(detected) error) error {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	present := map[string]bool{}
	for _, d := range ds {
		present[d.Name()] = true
	}
	var first []Detector
	var readers []flagReader
	for _, d := range ds {
		if r, ok := d.(flagReader); ok && all(r.Reads(), present) {
			readers = append(readers, r)
			continue
		}
		first = append(first, d)
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
	if err := runPool(ctx, db, first, workers, func(ctx context.Context, q Querier, d Detector) ([]Flag, error) {
		return d.Detect(ctx, q)
	}, collect); err != nil {
		return err
	}
	rs := make([]Detector, len(readers))
	for i, r := range readers {
		rs[i] = r
	}
	return runPool(ctx, db, rs, workers, func(ctx context.Context, q Querier, d Detector) ([]Flag, error) {
		r := d.(flagReader)
		var in []Flag
		for _, n := range r.Reads() {
			in = append(in, wanted[n]...)
		}
		return r.DetectFrom(ctx, q, in)
	}, emit)
}

// runPool runs detect for each of ds on up to workers connections and calls
// emit in the order of ds.
func runPool(ctx context.Context, db *sql.DB, ds []Detector, workers int,
	detect func(context.Context, Querier, Detector) ([]Flag, error), emit func(detected) error) error {
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
			for i := range next {
				d := ds[i]
				t0 := time.Now()
				flags, err := detect(gctx, conn, d)
				if err != nil {
					return fmt.Errorf("detector %s: %w", d.Name(), err)
				}
				sort.Slice(flags, func(a, b int) bool { return flags[a].SubjectID < flags[b].SubjectID })
				res := detected{detector: d, flags: flags, seconds: time.Since(t0).Seconds()}
				slog.Info("detector done", "detector", d.Name(), "flags", len(flags), "seconds", res.seconds)
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
