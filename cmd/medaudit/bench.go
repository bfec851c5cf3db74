package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	)
	ing := &cobra.Command{
		Use:   "ingest [--persons N] [--work DIR]",
		Short: "medaudit ingest vs DuckDB's own read_csv / read_parquet on the same generated files",
		Long: `Generates one fixture batch, writes it as CSV and Parquet, then loads each
into a fresh database file twice: with medaudit ingest (decode, validate,
Arrow, deduplicate, quarantine) and with DuckDB's native reader straight into
the same tables (no checks). Prints rows/s of each and the ratio.`,
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
			results := map[string]any{"persons": persons}
			for _, c := range []struct {
				name string
				dir  string
			}{{"csv", csvDir}, {"parquet", pqDir}} {
				var best [2]float64
				var rows int64
				for r := 0; r < repeat; r++ {
					for i, native := range []bool{false, true} {
						n, secs, err := loadOnce(ctx, filepath.Join(work, "bench.duckdb"), c.dir, native, memory)
						if err != nil {
							return err
						}
						rows = n
						if rate := float64(n) / secs; rate > best[i] {
							best[i] = rate
						}
					}
				}
				fmt.Fprintf(os.Stderr, "%-8s rows=%d  medaudit ingest %10.0f rows/s   duckdb native %10.0f rows/s   ratio %.2f\n",
					c.name, rows, best[0], best[1], best[0]/best[1])
				results[c.name] = map[string]any{"rows": rows, "ingest_rows_per_sec": int64(best[0]),
					"native_rows_per_sec": int64(best[1]), "ratio": float64(int(best[0]/best[1]*1000)) / 1000}
			}
			return printJSON(cmd, results)
		},
	}
	ing.Flags().IntVar(&persons, "persons", 100_000, "fixture persons (100k ≈ 5 M rows)")
	ing.Flags().StringVar(&work, "work", "", "working folder; generated files are reused when present (default: a temp folder)")
	ing.Flags().IntVar(&repeat, "repeat", 3, "runs per loader; the best is reported")
	ing.Flags().StringVar(&memory, "memory-limit", pipeline.DefaultDBConfig().MemoryLimit, "DuckDB memory limit for both loaders")
	cmd.AddCommand(ing)
	return cmd
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
