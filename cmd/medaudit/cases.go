package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/casebook"
)

func newCasesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cases", Short: "The casebook: cases built from flags"}
	var db dbFlags
	open := &cobra.Command{
		Use:   "open [--db FILE]",
		Short: "Open cases for the open flags of active detectors (one case per subject)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := db.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.Close()
			sum, err := casebook.NewStore(d.DB, time.Now).OpenCases(cmd.Context(), "system:cli")
			if err != nil {
				return err
			}
			return printJSON(cmd, sum)
		},
	}
	db.register(open)
	cmd.AddCommand(open)
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
			d, err := db.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := casebook.NewStore(d.DB, time.Now).VerifyTrail(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"events": n, "intact": true})
		},
	}
	db.register(verify)
	cmd.AddCommand(verify)
	return cmd
}
