package main

import (
	"context"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/pipeline"
)

func newIngestCmd() *cobra.Command {
	var (
		db       dbFlags
		strictID bool
		quiet    bool
		layout   string
		encoding string
		delim    string
		quote    string
	)
	cmd := &cobra.Command{
		Use:   "ingest [--db FILE] DIR",
		Short: "Load one batch folder (CSV, CSV.gz, Parquet or Arrow files) into the database",
		Long: `Load one batch folder of contract files into the database in one transaction.
Every row is loaded, quarantined with a reason, recognised as unchanged, or
applied as a correction; the summary gives the four counts per file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer d.Close()
			cfg := pipeline.DefaultConfig()
			cfg.StrictIDAgreement = strictID
			cfg.Layout = pipeline.Layout(layout)
			if cfg.Encoding, err = pipeline.ParseEncoding(encoding); err != nil {
				return err
			}
			if cfg.Delimiter, err = pipeline.ParseDelimiter(delim); err != nil {
				return err
			}
			if cfg.Quote, err = pipeline.ParseQuote(quote); err != nil {
				return err
			}
			sum, err := ingestWithProgress(ctx, d, args[0], cfg, !quiet)
			if err != nil {
				return err
			}
			return printJSON(cmd, sum)
		},
	}
	db.register(cmd)
	cmd.Flags().BoolVar(&strictID, "strict-id", false, "quarantine persons whose ID number disagrees with sex or birth_date (default: load with a data-quality note)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().StringVar(&layout, "layout", "", "contract or nhsa (default: recognise each file by its name and header; a folder may mix both)")
	cmd.Flags().StringVar(&encoding, "encoding", "", "utf-8 or gb18030 (default: UTF-8, or GB18030 when a file is not valid UTF-8)")
	cmd.Flags().StringVar(&delim, "delimiter", "", `field delimiter "," "|" ";" or "tab" (default: sniffed from the header line)`)
	cmd.Flags().StringVar(&quote, "quote", "", `quote character " or ' (default: sniffed)`)
	return cmd
}

// ingestWithProgress runs pipeline.Ingest with a progress bar on stderr when
// stderr is a terminal.
func ingestWithProgress(ctx context.Context, d *pipeline.DB, dir string, cfg pipeline.Config, progress bool) (pipeline.Summary, error) {
	if progress && isatty.IsTerminal(os.Stderr.Fd()) {
		if files, _, err := pipeline.FindBatchFiles(dir); err == nil {
			var total int64
			for _, f := range files {
				total += f.Size
			}
			bar := progressbar.DefaultBytes(total, "ingest "+dir)
			cfg.Progress = func(n int64) { bar.Add64(n) }
			defer bar.Finish()
		}
	}
	return pipeline.Ingest(ctx, d, dir, cfg)
}
