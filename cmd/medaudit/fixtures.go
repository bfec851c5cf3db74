package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
)

func newFixturesCmd() *cobra.Command {
	cfg := fixtures.DefaultConfig()
	var format, profile string
	var nat nationalFlags
	cmd := &cobra.Command{
		Use:   "fixtures --out DIR [--persons N] [--seed S] [--format csv|csv.gz|parquet|arrow] [--profile default|shifted]",
		Short: "Write a synthetic batch with labelled injected fraud (labels.csv) and decoys (decoys.csv)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, _ := cmd.Flags().GetString("out")
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			f := pipeline.Format(format)
			if !validFormat(f) {
				return fmt.Errorf("--format %q: want one of csv, csv.gz, parquet, arrow", format)
			}
			cfg.Gzip = f == pipeline.FormatCSVGz
			cfg.Profile = fixtures.Profile(profile)
			if err := cfg.Profile.Validate(); err != nil {
				return fmt.Errorf("--profile: %w", err)
			}
			if nat.active() {
				return nat.generate(cmd, cfg, out, f)
			}
			sum, err := generate(cmd, cfg, out, f)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"out": out, "format": f, "rows": sum.Rows, "labels": sum.Labels,
				"decoys": sum.Decoys, "families": sum.Families})
		},
	}
	cmd.Flags().String("out", "", "output folder")
	cmd.Flags().IntVar(&cfg.Persons, "persons", cfg.Persons, "insured persons to generate")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same seed gives the same files")
	cmd.Flags().IntVar(&cfg.Year, "year", cfg.Year, "calendar year of the activity")
	cmd.Flags().StringVar(&format, "format", "csv", "file format: csv, csv.gz, parquet or arrow")
	nat.register(cmd)
	cmd.AddCommand(newFixturesSplitCmd())
	cmd.Flags().StringVar(&profile, "profile", string(fixtures.ProfileDefault),
		"conventions the batch is drawn with: default, or shifted (insured-part swipes, bulk restocking, 拆零 units, long prescriptions)")
	return cmd
}

// generate writes fixtures as CSV and, for the columnar formats, converts
// them in place (labels.csv and decoys.csv stay CSV).
func generate(cmd *cobra.Command, cfg fixtures.Config, out string, f pipeline.Format) (fixtures.Summary, error) {
	if f != pipeline.FormatParquet && f != pipeline.FormatArrow {
		return fixtures.Generate(cmd.Context(), cfg, out)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".fixtures-")
	if err != nil {
		return fixtures.Summary{}, err
	}
	defer os.RemoveAll(tmp)
	sum, err := fixtures.Generate(cmd.Context(), cfg, tmp)
	if err != nil {
		return sum, err
	}
	if err := pipeline.Convert(cmd.Context(), tmp, out, f, pipeline.DefaultConfig()); err != nil {
		return sum, err
	}
	for _, name := range []string{"labels.csv", "decoys.csv"} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(out, name)); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func newFixturesSplitCmd() *cobra.Command {
	var before, after, at string
	cmd := &cobra.Command{
		Use:   "split BATCH --at DATE --before DIR --after DIR",
		Short: "Split a plain-CSV batch into two deliveries at a date: reference files and earlier activity, then later activity",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if before == "" || after == "" || at == "" {
				return fmt.Errorf("--at, --before and --after are required")
			}
			res, err := fixtures.SplitAt(args[0], before, after, at)
			if err != nil {
				return err
			}
			return printJSON(cmd, res)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the first day of the second delivery (2025-12-01)")
	cmd.Flags().StringVar(&before, "before", "", "folder for the reference files and the activity before the date")
	cmd.Flags().StringVar(&after, "after", "", "folder for the activity from the date on")
	return cmd
}
