package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks with printed figures"}
	var (
		persons int
		work    string
		repeat  int
		memory  string
		dir     string
	)
	ing := &cobra.Command{
		Use:   "ingest [--persons N] [--work DIR] [--dir BATCH]",
		Short: "medaudit ingest vs DuckDB's own read_csv / read_parquet on the same generated files",
		Long: `Generates one fixture batch, writes it as CSV and Parquet, then loads each
into a fresh database file twice: with medaudit ingest (decode, validate,
Arrow, deduplicate, quarantine) and with DuckDB's native reader straight into
the same tables (no checks). Prints rows/s of each and the ratio, and
every run's seconds: on a noisy machine the spread shows how far the best
can be trusted.
With --dir, benches that batch folder as it is instead (any format DuckDB
reads; a national extract file is read natively into a table of its own).
Rows/s of both loaders count the files' rows as DuckDB reads them; the
ratio is DuckDB's best seconds over medaudit's best seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if work == "" {
				var err error
				if work, err = os.MkdirTemp("", "medaudit-bench-"); err != nil {
					return err
				}
				defer os.RemoveAll(work)
			}
			type batch struct{ name, dir string }
			var batches []batch
			results := map[string]any{}
			if dir != "" {
				batches = []batch{{filepath.Base(filepath.Clean(dir)), dir}}
				results["dir"] = dir
			} else {
				csvDir, pqDir := filepath.Join(work, "csv"), filepath.Join(work, "parquet")
				cfg := fixtures.DefaultConfig()
				cfg.Persons = persons
				if _, err := os.Stat(csvDir); err != nil {
					slog.Info("generating fixtures", "persons", persons, "dir", csvDir)
					if _, err := fixtures.Generate(ctx, cfg, csvDir); err != nil {
						return err
					}
				}
				if _, err := os.Stat(pqDir); err != nil {
					if err := pipeline.Convert(ctx, csvDir, pqDir, pipeline.FormatParquet, pipeline.DefaultConfig()); err != nil {
						return err
					}
				}
				batches = []batch{{"csv", csvDir}, {"parquet", pqDir}}
				results["persons"] = persons
			}
			for _, c := range batches {
				r, err := benchBatch(ctx, filepath.Join(work, "bench.duckdb"), c.dir, repeat, memory)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "%-8s rows=%d  medaudit ingest %10d rows/s (%.2f s)   duckdb native %10d rows/s (%.2f s)   ratio %.2f\n",
					c.name, r.Rows, r.IngestRate, r.IngestSecs, r.NativeRate, r.NativeSecs, r.Ratio)
				fmt.Fprintf(os.Stderr, "%-8s runs (s, in order): medaudit %s   duckdb %s\n", "", secondsList(r.IngestRuns), secondsList(r.NativeRuns))
				results[c.name] = r
			}
			return printJSON(cmd, results)
		},
	}
	ing.Flags().IntVar(&persons, "persons", 100_000, "fixture persons (100k ≈ 5 M rows)")
	ing.Flags().StringVar(&work, "work", "", "working folder; generated files are reused when present (default: a temp folder)")
	ing.Flags().StringVar(&dir, "dir", "", "bench this existing batch folder instead of generating fixtures")
	ing.Flags().IntVar(&repeat, "repeat", 3, "runs per loader; the best is reported")
	ing.Flags().StringVar(&memory, "memory-limit", pipeline.DefaultDBConfig().MemoryLimit, "DuckDB memory limit for both loaders")
	cmd.AddCommand(ing)
	return cmd
}

// benchResult is the best of several runs of each loader on one batch,
// with every run's seconds in the order they ran (the loaders alternate).
type benchResult struct {
	Rows       int64     `json:"rows"` // input rows, as DuckDB's reader counts them
	IngestSecs float64   `json:"ingest_seconds"`
	NativeSecs float64   `json:"native_seconds"`
	IngestRate int64     `json:"ingest_rows_per_sec"`
	NativeRate int64     `json:"native_rows_per_sec"`
	Ratio      float64   `json:"ratio"` // native seconds / ingest seconds
	IngestRuns []float64 `json:"ingest_runs_seconds"`
	NativeRuns []float64 `json:"native_runs_seconds"`
}

// benchBatch loads dir repeat times with each loader, alternating, and keeps
// each loader's best time.
func benchBatch(ctx context.Context, path, dir string, repeat int, memory string) (benchResult, error) {
	var r benchResult
	best := [2]float64{math.Inf(1), math.Inf(1)}
	for range max(repeat, 1) {
		for i, native := range []bool{false, true} {
			n, secs, err := loadOnce(ctx, path, dir, native, memory)
			if err != nil {
				return r, err
			}
			if native {
				r.Rows = n
			}
			best[i] = min(best[i], secs)
			if native {
				r.NativeRuns = append(r.NativeRuns, round3(secs))
			} else {
				r.IngestRuns = append(r.IngestRuns, round3(secs))
			}
		}
	}
	r.IngestSecs, r.NativeSecs = round3(best[0]), round3(best[1])
	r.IngestRate, r.NativeRate = int64(float64(r.Rows)/best[0]), int64(float64(r.Rows)/best[1])
	r.Ratio = round3(best[1] / best[0])
	return r, nil
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// secondsList renders seconds to hundredths, space-separated.
func secondsList(secs []float64) string {
	parts := make([]string, len(secs))
	for i, s := range secs {
		parts[i] = strconv.FormatFloat(s, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

// loadOnce loads dir into a fresh database file and returns rows and seconds.
func loadOnce(ctx context.Context, path, dir string, native bool, memory string) (int64, float64, error) {
	os.Remove(path)
	os.Remove(path + ".wal")
	defer os.Remove(path)
	db, err := pipeline.Open(ctx, path, pipeline.DBConfig{MemoryLimit: memory})
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	start := time.Now()
	var n int64
	if native {
		n, err = pipeline.LoadNative(ctx, db, dir)
	} else {
		var sum pipeline.Summary
		sum, err = pipeline.Ingest(ctx, db, dir, pipeline.DefaultConfig())
		n = sum.Totals.Loaded
	}
	if err == nil {
		_, err = db.ExecContext(ctx, "CHECKPOINT")
	}
	return n, time.Since(start).Seconds(), err
}
