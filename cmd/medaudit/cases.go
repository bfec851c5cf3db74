package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
)

func newCasesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cases", Short: "The casebook: cases built from flags"}
	var db dbFlags
	open := &cobra.Command{
		Use:   "open [--db FILE]",
		Short: "Open cases for the open flags of active detectors (one case per subject)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return db.with(cmd, false, func(d *pipeline.DB) error {
				sum, err := casebook.NewStore(d.DB, time.Now).OpenCases(cmd.Context(), "system:cli")
				if err != nil {
					return err
				}
				return printJSON(cmd, sum)
			})
		},
	}
	db.register(open)

	var mdb dbFlags
	var detector, mode string
	ruleMode := &cobra.Command{
		Use:   "rule-mode --detector NAME --mode shadow|active",
		Short: "Run a detector in shadow (flags recorded, no cases) until its precision is known, or make it active",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := detectors.Registry(detectors.Config{})
			if err != nil {
				return err
			}
			if len(detectors.Select(ds, []string{detector})) == 0 {
				return fmt.Errorf("no detector named %q", detector)
			}
			return mdb.with(cmd, false, func(d *pipeline.DB) error {
				if err := casebook.NewStore(d.DB, time.Now).SetRuleMode(cmd.Context(), "system:cli", detector, mode); err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"detector": detector, "mode": mode})
			})
		},
	}
	mdb.register(ruleMode)
	ruleMode.Flags().StringVar(&detector, "detector", "", "detector name")
	ruleMode.Flags().StringVar(&mode, "mode", "shadow", "shadow or active")

	var sdb dbFlags
	var year, rate int
	var districts []string
	scores := &cobra.Command{
		Use:   "scores --year YYYY [--districts 330106] [--withheld 1000]",
		Short: "Annual institution scores (基础管理、用药管理、服务管理、质量管理 / 医保服务、规范刷卡) and deposit payouts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return sdb.with(cmd, true, func(d *pipeline.DB) error {
				out, err := casebook.NewStore(d.DB, time.Now).AnnualScores(cmd.Context(), year, districts, rate, casebook.DefaultScoringRules())
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"year": year, "institutions": out})
			})
		},
	}
	sdb.register(scores)
	scores.Flags().IntVar(&year, "year", time.Now().Year(), "assessment year")
	scores.Flags().StringSliceVar(&districts, "districts", []string{"*"}, "district region codes, or *")
	scores.Flags().IntVar(&rate, "withheld", 1000, "withheld deposit rate of the year's fund payments, in 1/10,000 (1000 = 10 %)")
	var tdb dbFlags
	var weeks float64
	threshold := &cobra.Command{
		Use:   "threshold [--weeks 13]",
		Short: "The clinical flag score the review panel can keep up with, from its weekly capacity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return tdb.with(cmd, true, func(d *pipeline.DB) error {
				t, n, c, err := casebook.NewStore(d.DB, time.Now).PanelThreshold(cmd.Context(), weeks)
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"min_score": t, "clinical_flags": n, "weekly_capacity": c, "weeks": weeks})
			})
		},
	}
	tdb.register(threshold)
	threshold.Flags().Float64Var(&weeks, "weeks", 13, "weeks the open flags must be reviewed in")
	cmd.AddCommand(open, ruleMode, scores, threshold)
	return cmd
}

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The case audit trail"}
	var db dbFlags
	verify := &cobra.Command{
		Use:   "verify [--db FILE]",
		Short: "Check the hash chain of every case event: edited, deleted or reordered events fail",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return db.with(cmd, true, func(d *pipeline.DB) error {
				n, err := casebook.NewStore(d.DB, time.Now).VerifyTrail(cmd.Context())
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"events": n, "intact": true})
			})
		},
	}
	db.register(verify)
	cmd.AddCommand(verify)
	return cmd
}
