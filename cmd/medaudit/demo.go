package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
)

func newDemoCmd() *cobra.Command {
	var (
		db      dbFlags
		dir     string
		addr    string
		noServe bool
	)
	cfg := fixtures.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "demo [--db FILE] [--dir DIR] [--persons N] [--addr :8080]",
		Short: "The whole main job on the embedded default: generate fixtures, ingest, then serve",
		Long: `Generates a synthetic batch with labelled fraud into DIR (kept when it
already exists), ingests it into the database file, prints the ledger and
serves the web pages and API until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, err := os.Stat(filepath.Join(dir, "settlements.csv")); err != nil {
				slog.Info("generating fixtures", "dir", dir, "persons", cfg.Persons, "seed", cfg.Seed)
				if _, err := fixtures.Generate(ctx, cfg, dir); err != nil {
					return err
				}
			}
			d, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer d.Close()
			sum, err := ingestWithProgress(ctx, d, dir, pipeline.DefaultConfig(), true)
			if err != nil {
				return err
			}
			if err := printJSON(cmd, sum); err != nil {
				return err
			}
			if noServe {
				return nil
			}
			fmt.Fprintf(os.Stderr, "\n医保异地结算稽核 demo: open http://localhost%s/ (Ctrl-C to stop)\n\n", addr)
			return serve(ctx, d, addr)
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", "./demo-batch", "fixture batch folder")
	cmd.Flags().IntVar(&cfg.Persons, "persons", cfg.Persons, "fixture persons")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", cfg.Seed, "fixture seed")
	cmd.Flags().StringVar(&addr, "addr", ":8080", "listen address")
	cmd.Flags().BoolVar(&noServe, "no-serve", false, "stop after ingest (for scripts)")
	return cmd
}
