package detectors

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/settlement"
)

// BenchmarkRecompute measures the recompute detector path (the grouped
// query of the claims' line sums, the Arrow stream of the claims, the
// running totals and the settlement engine) over a generated fixture, in
// claims per second.
// The engine alone is settlement.BenchmarkSettle.
func BenchmarkRecompute(b *testing.B) {
	for _, persons := range []int{1000} {
		b.Run("persons="+strconv.Itoa(persons), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			cfg := fixtures.DefaultConfig()
			cfg.Persons, cfg.Seed = persons, 777
			if _, err := fixtures.Generate(ctx, cfg, dir); err != nil {
				b.Fatal(err)
			}
			db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			icfg := pipeline.DefaultConfig()
			icfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
			if _, err := pipeline.Ingest(ctx, db, dir, icfg); err != nil {
				b.Fatal(err)
			}
			ps, err := settlement.DefaultPolicies()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			start := time.Now()
			for b.Loop() {
				if err := recomputeStream(ctx, db, ps, func(*recomputed) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "claims/s")
		})
	}
}
