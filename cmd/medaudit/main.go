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
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
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
	f.registerLimit(cmd, pipeline.DefaultDBConfig().MemoryLimit)
}

// registerLimit registers the flags with memoryLimit as --memory-limit's default.
func (f *dbFlags) registerLimit(cmd *cobra.Command, memoryLimit string) {
	cmd.Flags().StringVar(&f.path, "db", "./medaudit.duckdb", "DuckDB database file")
	cmd.Flags().StringVar(&f.memoryLimit, "memory-limit", memoryLimit, "DuckDB buffer memory limit; larger work spills to disk")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "DuckDB worker threads (0 = all cores)")
}

// open opens the database. DuckDB lets one process open a file for writing
// or several open it read-only; its refusal of a conflicting open becomes an
// error that says what to do instead.
func (f *dbFlags) open(ctx context.Context, readOnly bool) (*pipeline.DB, error) {
	d, err := pipeline.Open(ctx, f.path, pipeline.DBConfig{MemoryLimit: f.memoryLimit, Threads: f.threads, ReadOnly: readOnly})
	if err != nil {
		if m := lockHolder.FindStringSubmatch(err.Error()); m != nil {
			return nil, &inUseError{path: f.path, holder: m[1], pid: m[2], err: err}
		}
		if strings.Contains(err.Error(), "Could not set lock") {
			return nil, &inUseError{path: f.path, err: err}
		}
	}
	return d, err
}

// lockHolder finds the program and pid DuckDB names when another process
// holds the file's lock.
var lockHolder = regexp.MustCompile(`Conflicting lock is held in (.*) \(PID (\d+)\)`)

// inUseError says that another process holds the database file.
type inUseError struct {
	path, holder, pid string // holder and pid are empty when DuckDB does not name them
	err               error
}

func (e *inUseError) Error() string {
	who := "another process"
	if e.pid != "" {
		who = fmt.Sprintf("another process (%s, pid %s)", filepath.Base(e.holder), e.pid)
	}
	return fmt.Sprintf("the database %s is in use by %s. DuckDB lets one process open a file for writing "+
		"or several open it read-only, never both: while a writer holds it, read-only opens are refused too. "+
		"If it is a running `medaudit serve`, it owns the file: send work through its API "+
		"(POST /api/v1/batches to ingest, POST /api/v1/scans to scan, the web pages and GET routes to read) "+
		"or stop the server first; otherwise wait for that command to finish", e.path, who)
}

func (e *inUseError) Unwrap() error { return e.err }

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
	root.AddCommand(newIngestCmd(), newExportCmd(), newFixturesCmd(), newConvertCmd(), newBenchCmd(), newServeCmd(), newDemoCmd(), newScanCmd(), newEvalCmd(), newCasesCmd(), newAuditCmd(), newCheckCmd(), newBackupCmd(), newRestoreCmd(), newUsersCmd(), newReportCmd(), newPolicyCmd())
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
