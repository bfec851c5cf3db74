package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// loadSchedules reads --schedules, or the embedded default when empty.
func loadSchedules(path string) (reports.Config, error) {
	if path == "" {
		return reports.DefaultConfig(), nil
	}
	return reports.LoadConfig(path)
}

// newReportRunner is the report runner of the serve and report commands:
// its scans run with the detectors configured by the thresholds file and its
// schedule reads the clock now (time.Now but in the demo).
func newReportRunner(d *pipeline.DB, cfg reports.Config, th *thresholdsFlag, now func() time.Time) (*reports.Runner, error) {
	ds, err := th.registry()
	if err != nil {
		return nil, err
	}
	return reports.NewRunner(d.DB, cfg, ds, now), nil
}

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Scheduled reports: run a job now, list the archive, get a file",
	}

	var (
		rdb       dbFlags
		rth       thresholdsFlag
		job       string
		at        string
		schedules string
	)
	run := &cobra.Command{
		Use:   "run --job NAME [--at 2026-11-01T02:00] [--schedules FILE]",
		Short: "Run one job of the schedule now, as its occurrence at --at (default: now)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if job == "" {
				return errors.New("--job is required")
			}
			return rdb.with(cmd, false, func(d *pipeline.DB) error {
				cfg, err := loadSchedules(schedules)
				if err != nil {
					return err
				}
				r, err := newReportRunner(d, cfg, &rth, time.Now)
				if err != nil {
					return err
				}
				when := time.Now().In(cfg.Location()).Truncate(time.Minute)
				if at != "" {
					if when, err = time.ParseInLocation("2006-01-02T15:04", at, cfg.Location()); err != nil {
						return fmt.Errorf("--at %q: want YYYY-MM-DDTHH:MM in %s", at, cfg.Location())
					}
				}
				start := time.Now()
				out, err := r.RunNow(cmd.Context(), job, when)
				if err != nil {
					return err
				}
				return printJSON(cmd, struct {
					reports.Run
					Seconds float64 `json:"seconds"`
				}{out, time.Since(start).Seconds()})
			})
		},
	}
	rdb.register(run)
	rth.register(run)
	run.Flags().StringVar(&job, "job", "", "job name in the schedule config (default config: monthly, quarterly, annual)")
	run.Flags().StringVar(&at, "at", "", "the occurrence to run, YYYY-MM-DDTHH:MM in the schedule's time zone")
	run.Flags().StringVar(&schedules, "schedules", "", "schedule config YAML (default: the embedded schedules.yaml)")

	var (
		ldb   dbFlags
		limit int
	)
	list := &cobra.Command{
		Use:   "list [--limit N]",
		Short: "The latest report runs with their files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return ldb.with(cmd, true, func(d *pipeline.DB) error {
				runs, err := reports.List(cmd.Context(), d.DB, limit)
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"runs": runs})
			})
		},
	}
	ldb.register(list)
	list.Flags().IntVar(&limit, "limit", 20, "number of runs")

	var (
		gdb dbFlags
		out string
	)
	get := &cobra.Command{
		Use:   "get RUN NAME --out FILE",
		Short: "Write one stored report file",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("run id %q: %w", args[0], err)
			}
			if out == "" {
				return errors.New("--out is required")
			}
			return gdb.with(cmd, true, func(d *pipeline.DB) error {
				f, err := reports.GetFile(cmd.Context(), d.DB, id, args[1])
				if err != nil {
					return err
				}
				if err := os.WriteFile(out, f.Content, 0o644); err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"run": id, "file": f.FileInfo, "out": out})
			})
		},
	}
	gdb.register(get)
	get.Flags().StringVar(&out, "out", "", "output file")

	cmd.AddCommand(run, list, get)
	return cmd
}
