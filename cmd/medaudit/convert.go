package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/pipeline"
)

func newConvertCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "convert --to csv|csv.gz|parquet|arrow SRC DST",
		Short: "Rewrite a clean batch folder in another format with the contract's natural types",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := pipeline.Format(to)
			if !validFormat(f) {
				return fmt.Errorf("--to %q: want one of csv, csv.gz, parquet, arrow", to)
			}
			if err := pipeline.Convert(cmd.Context(), args[0], args[1], f, pipeline.DefaultConfig()); err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"src": args[0], "dst": args[1], "format": f})
		},
	}
	cmd.Flags().StringVar(&to, "to", "parquet", "target format")
	return cmd
}

func validFormat(f pipeline.Format) bool {
	for _, g := range pipeline.Formats {
		if f == g {
			return true
		}
	}
	return false
}
