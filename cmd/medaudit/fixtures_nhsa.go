package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
)

// nationalFlags are the fixtures flags of the national extract layout.
type nationalFlags struct {
	layout    string
	events    bool
	encoding  string
	delimiter string
	quote     string
}

func (n *nationalFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&n.layout, "layout", "contract", "contract, or nhsa: settlements and fee items as the national platform's setl_d / mdtrt_d / fee_list_d (with mid-stay settlements, refunds and void rows)")
	cmd.Flags().BoolVar(&n.events, "national-events", false, "contract layout with what --layout nhsa adds (visit ids, fund parts, mid-stay settlements, refunds): the same batch in both layouts")
	cmd.Flags().StringVar(&n.encoding, "encoding", "", "--layout nhsa: utf-8 (default) or gb18030")
	cmd.Flags().StringVar(&n.delimiter, "delimiter", "", `--layout nhsa: field delimiter, "," (default), "|" or "tab"`)
	cmd.Flags().StringVar(&n.quote, "quote", "", `--layout nhsa: quote character, " (default) or ' (every field quoted, CRLF)`)
}

func (n *nationalFlags) active() bool { return n.layout != "contract" || n.events }

// generate writes the fixture batch with its national events, in the
// contract layout (--national-events) or the national one (--layout nhsa).
func (n *nationalFlags) generate(cmd *cobra.Command, cfg fixtures.Config, out string, f pipeline.Format) error {
	if n.layout != "contract" && n.layout != string(pipeline.LayoutNHSA) {
		return fmt.Errorf("--layout %q: want contract or nhsa", n.layout)
	}
	if f != pipeline.FormatCSV {
		return fmt.Errorf("--layout nhsa and --national-events write CSV (--format csv)")
	}
	delim, err := pipeline.ParseDelimiter(n.delimiter)
	if err != nil {
		return err
	}
	quote, err := pipeline.ParseQuote(n.quote)
	if err != nil {
		return err
	}
	enc, err := pipeline.ParseEncoding(n.encoding)
	if err != nil {
		return err
	}
	dir := out
	if n.layout == string(pipeline.LayoutNHSA) {
		tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".fixtures-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	sum, err := fixtures.Generate(cmd.Context(), cfg, dir)
	if err != nil {
		return err
	}
	ev, err := fixtures.AddNationalEvents(dir)
	if err != nil {
		return err
	}
	res := map[string]any{"out": out, "layout": n.layout, "format": f, "rows": sum.Rows, "labels": sum.Labels,
		"decoys": sum.Decoys, "families": sum.Families, "national_events": ev}
	if n.layout == string(pipeline.LayoutNHSA) {
		counts, err := fixtures.WriteNational(dir, out, fixtures.NationalConfig{Encoding: enc, Delimiter: delim, Quote: quote})
		if err != nil {
			return err
		}
		res["national_rows"] = counts
		res["encoding"] = enc
	}
	return printJSON(cmd, res)
}
