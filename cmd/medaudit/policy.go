package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/settlement"
)

// loadPolicies reads --policies: the file, or the built-in examples when
// path is empty.
func loadPolicies(path string) (*settlement.PolicySet, error) {
	if path == "" {
		return settlement.DefaultPolicies()
	}
	return settlement.LoadPoliciesFile(path)
}

// policiesFlag registers --policies on cmd.
func policiesFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "policies", "", "insured-region settlement policy file (YAML; check it with `medaudit policy check`); default: the built-in examples (示例)")
}

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Insured-region settlement policy files (参保地政策表)",
	}
	var (
		db     dbFlags
		asJSON bool
	)
	check := &cobra.Command{
		Use:   "check FILE [--db FILE] [--json]",
		Short: "Validate a policy file and print what it holds; with --db compare it with the loaded settlements",
		Long: `Validate a policy file and print what it holds. Every problem is listed with its
line, region and field. With --db, the loaded settlements are recomputed under the
file: the command prints its coverage and, for each insured region × insurance
type × visit type × hospital level where settled funds disagree with the file,
the one-band ratio and deductible that reproduce the most settlements.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			ps, err := settlement.LoadPoliciesFile(args[0])
			if err != nil {
				printLoadErrors(out, err)
				return errors.New("政策表有错误 the policy file has errors")
			}
			if !asJSON {
				fmt.Fprint(out, ps.Describe())
			}
			if !cmd.Flags().Changed("db") {
				if asJSON {
					return printJSON(cmd, map[string]any{"policies": ps.Info(), "regions": ps.Regions()})
				}
				return nil
			}
			return db.with(cmd, true, func(d *pipeline.DB) error {
				if asJSON {
					cov, err := detectors.Coverage(cmd.Context(), d.DB, ps)
					if err != nil {
						return err
					}
					cells, err := detectors.PolicyCheck(cmd.Context(), d.DB, ps)
					if err != nil {
						return err
					}
					return printJSON(cmd, map[string]any{"policies": ps.Info(), "regions": ps.Regions(), "coverage": cov, "cells": cells})
				}
				return printPolicyComparison(cmd, out, d, ps)
			})
		},
	}
	db.register(check)
	check.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (policies, regions, and with --db coverage and the disagreeing cells with their fits) instead of text")
	cmd.AddCommand(check)
	return cmd
}

// printLoadErrors lists each joined error on its own line.
func printLoadErrors(w io.Writer, err error) {
	var errs []error
	for e := err; e != nil; {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
			break
		}
		e = errors.Unwrap(e)
	}
	if len(errs) == 0 {
		errs = []error{err}
	}
	fmt.Fprintf(w, "政策表有 %d 处错误 %d error(s):\n", len(errs), len(errs))
	for _, e := range errs {
		fmt.Fprintln(w, "  "+e.Error())
	}
}

func printPolicyComparison(cmd *cobra.Command, w io.Writer, d *pipeline.DB, ps *settlement.PolicySet) error {
	ctx := cmd.Context()
	cov, err := detectors.Coverage(ctx, d.DB, ps)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", cov.Text)
	cells, err := detectors.PolicyCheck(ctx, d.DB, ps)
	if err != nil {
		return err
	}
	if len(cells) == 0 {
		fmt.Fprintln(w, "所有已覆盖的结算均与政策表一致。 Every covered settlement agrees with the file.")
		return nil
	}
	fmt.Fprintf(w, "\n结算与政策表不一致的单元 %d 个（参保地 × 险种 × 就诊类型 × 医院级别）。 %d cells where settlements disagree:\n", len(cells), len(cells))
	for _, c := range cells {
		fmt.Fprintf(w, "%s %s %s %d级: %d/%d 笔不一致 disagree", c.Region, c.Insurance, c.VisitType, c.Level, c.Disagree, c.Settlements)
		if c.Policy != c.Region {
			fmt.Fprintf(w, "（适用 %s 的政策 policy of %s）", c.Policy, c.Policy)
		}
		fmt.Fprintln(w)
		switch {
		case c.Suggestion != "":
			fmt.Fprintln(w, "  建议 suggestion: "+c.Suggestion)
		default:
			fmt.Fprintf(w, "  无明显更优的单一比例与起付线（政策表吻合 %d/%d 笔，最佳拟合 %d 笔）。 No one-band ratio and deductible fits clearly better than the table (%d vs best %d of %d).\n",
				c.Fit.TableFits, c.Fit.N, c.Fit.Fits, c.Fit.TableFits, c.Fit.Fits, c.Fit.N)
		}
	}
	return nil
}
