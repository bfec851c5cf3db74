// Command medaudit is the medical-insurance audit service: batch ingest,
// fixtures, exports and the HTTP server, in one binary. Every command prints
// a one-line JSON summary on stdout when it succeeds; logs go to stderr; the
// exit code is non-zero only when the command itself failed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/pipeline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err := newRoot().ExecuteContext(ctx); err != nil {
		slog.Error("command failed", "err", err)
		os.Exit(1)
	}
}

// dbFlags are the database options shared by every command that opens one.
type dbFlags struct {
	path        string
	memoryLimit string
	threads     int
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "db", "./medaudit.duckdb", "DuckDB database file")
	cmd.Flags().StringVar(&f.memoryLimit, "memory-limit", pipeline.DefaultDBConfig().MemoryLimit, "DuckDB buffer memory limit; larger work spills to disk")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "DuckDB worker threads (0 = all cores)")
}

func (f *dbFlags) open(ctx context.Context, readOnly bool) (*pipeline.DB, error) {
	return pipeline.Open(ctx, f.path, pipeline.DBConfig{MemoryLimit: f.memoryLimit, Threads: f.threads, ReadOnly: readOnly})
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "medaudit",
		Short:         "Fraud and audit analytics for cross-region medical-insurance settlements (异地就医直接结算稽核)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(cmd *cobra.Command, args []string) {
		if cpuProfile != "" {
			pprof.StopCPUProfile()
		}
	}
	root.AddCommand(newIngestCmd(), newExportCmd(), newFixturesCmd(), newConvertCmd(), newBenchCmd(), newServeCmd(), newDemoCmd(), newScanCmd(), newEvalCmd(), newCasesCmd(), newAuditCmd(), newUsersCmd(), newReportCmd())
	return root
}

// printJSON writes v as one line of JSON to the command's standard output.
func printJSON(cmd *cobra.Command, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
	return err
}

// with opens the database, runs fn and closes it.
func (f *dbFlags) with(cmd *cobra.Command, readOnly bool, fn func(d *pipeline.DB) error) error {
	d, err := f.open(cmd.Context(), readOnly)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}
