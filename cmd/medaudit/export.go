package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Write quarantined rows or flags to a file"}
	var (
		db  dbFlags
		out string
	)
	q := &cobra.Command{
		Use:   "quarantine --db FILE --out FILE.csv|FILE.jsonl",
		Short: "The quarantined rows: batch, file, line, column, reason, raw row",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			return db.with(cmd, true, func(d *pipeline.DB) error {
				n, err := pipeline.ExportQuarantine(cmd.Context(), d, out)
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"out": out, "rows": n})
			})
		},
	}
	db.register(q)
	q.Flags().StringVar(&out, "out", "", "output file; .csv or .jsonl")
	cmd.AddCommand(q)

	var fdb dbFlags
	var fout string
	fl := &cobra.Command{
		Use:   "flags --db FILE --out FILE.csv|FILE.jsonl",
		Short: "The open flags of the latest scan, with their evidence",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if fout == "" {
				return errors.New("--out is required")
			}
			return fdb.with(cmd, true, func(d *pipeline.DB) error {
				n, err := detectors.ExportFlags(cmd.Context(), d.DB, fout)
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"out": fout, "rows": n})
			})
		},
	}
	fdb.register(fl)
	fl.Flags().StringVar(&fout, "out", "", "output file; .csv or .jsonl")
	cmd.AddCommand(fl)

	var pdb dbFlags
	var pout string
	var unmasked bool
	pq := &cobra.Command{
		Use:   "parquet --db FILE --out DIR [--unmasked]",
		Short: "The loaded tables, flags and cases as Parquet, partitioned by region and month",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pout == "" {
				return errors.New("--out is required")
			}
			return pdb.with(cmd, true, func(d *pipeline.DB) error {
				rows, err := pipeline.ExportParquet(cmd.Context(), d, pout, unmasked)
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"out": pout, "rows": rows})
			})
		},
	}
	pdb.register(pq)
	pq.Flags().StringVar(&pout, "out", "", "output folder")
	pq.Flags().BoolVar(&unmasked, "unmasked", false, "keep ID numbers and names (masked by default)")
	cmd.AddCommand(pq)
	return cmd
}
