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
			d, err := db.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := pipeline.ExportQuarantine(cmd.Context(), d, out)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"out": out, "rows": n})
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
			d, err := fdb.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := detectors.ExportFlags(cmd.Context(), d.DB, fout)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"out": fout, "rows": n})
		},
	}
	fdb.register(fl)
	fl.Flags().StringVar(&fout, "out", "", "output file; .csv or .jsonl")
	cmd.AddCommand(fl)
	return cmd
}
