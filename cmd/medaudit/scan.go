package main

import (
	"errors"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
)

// scanMemoryLimit is the scan's DuckDB buffer limit: the detectors' large
// joins and aggregates spill to disk past it, so that the scan's resident
// set stays near 1.5 × 10⁹ bytes as the data grows (100 k persons:
// 1,107 MiB; 1 M: 1,359 MiB, 1.43 × 10⁹ bytes; 2.5 M: 1,503 MiB, against
// 2.84 and 3.92 GiB at 1 M and 2.5 M with the 2 GB every other command
// keeps), for about a quarter more time on a large batch (measured at 1 M
// and 2.5 M persons).
const scanMemoryLimit = "1GB"

// scanGoMemoryLimit is the scan's soft limit on Go's own memory (GOMEMLIMIT
// overrides it): the scan's Go heap holds a few detectors' candidates at a
// time (at most 106 MB live at 1 M persons), and without a limit the
// collector let it reach 343 MB between two cycles. The settlement checks
// hold the claims that disagree with their lines: 200 MB live at 10.0 M
// settlements (69 k claims), where a limit of 256 MiB left the collector
// running almost without pause (the five checks 103.2 s, 30 s of the
// scan's CPU in the collector; 84.2 s with 768 MiB, the same peak RSS).
const scanGoMemoryLimit = 512 << 20

func newScanCmd() *cobra.Command {
	var (
		db          dbFlags
		only        []string
		thresholds  thresholdsFlag
		incremental bool
		workers     int
	)
	cmd := &cobra.Command{
		Use:   "scan [--db FILE] [--detectors PREFIX,…] [--thresholds FILE] [--policies FILE] [--incremental]",
		Short: "Run every detector over all loaded data and store the flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
				debug.SetMemoryLimit(scanGoMemoryLimit)
			}
			ds, err := thresholds.registry()
			if err != nil {
				return err
			}
			return db.with(cmd, false, func(d *pipeline.DB) error {
				if len(only) > 0 {
					ds = detectors.Select(ds, only)
				}
				sum, err := detectors.ScanWith(cmd.Context(), d.DB, ds, time.Now,
					detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), ThresholdsSource: thresholds.source(), Incremental: incremental, Workers: workers})
				if err != nil {
					return err
				}
				return printJSON(cmd, sum)
			})
		},
	}
	db.registerLimit(cmd, scanMemoryLimit)
	thresholds.register(cmd)
	cmd.Flags().IntVar(&workers, "workers", 0, "detectors run at once, each on its own connection (0 = one per CPU)")
	cmd.Flags().BoolVar(&incremental, "incremental", false,
		"build on the last scan: re-judge with the per-person detectors only the persons the batches ingested since touched (runs in full, saying why, when the detectors, thresholds, policies, catalogue or institutions changed)")
	cmd.Flags().StringSliceVar(&only, "detectors", nil, "run only the detectors whose names start with one of these prefixes (e.g. ghost_bed,card_misuse.burst)")
	return cmd
}

func newEvalCmd() *cobra.Command {
	var (
		db       dbFlags
		labels   string
		minScore float64
	)
	cmd := &cobra.Command{
		Use:   "eval [--db FILE] --labels FILE",
		Short: "Precision and recall per family of the latest scan against labels",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if labels == "" {
				return errors.New("--labels is required")
			}
			return db.with(cmd, true, func(d *pipeline.DB) error {
				rep, err := detectors.Eval(cmd.Context(), d.DB, labels, minScore)
				if err != nil {
					return err
				}
				return printJSON(cmd, rep)
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&labels, "labels", "", "labels.csv (family,subject_type,subject_id[,variant])")
	cmd.Flags().Float64Var(&minScore, "min-score", 0, "a subject counts as flagged when the noisy-OR of its family's flag scores reaches this")
	return cmd
}
