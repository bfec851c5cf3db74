package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
	"github.com/medaudit/medaudit/settlement"
)

func newServeCmd() *cobra.Command {
	var (
		db        dbFlags
		addr      string
		schedules string
		policies  string
	)
	cmd := &cobra.Command{
		Use:   "serve [--db FILE] [--addr :8080] [--schedules FILE]",
		Short: "Serve the API and the web pages, and run the scheduled reports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return db.with(cmd, false, func(d *pipeline.DB) error {
				cfg, err := loadSchedules(schedules)
				if err != nil {
					return err
				}
				ps, err := loadPolicies(policies)
				if err != nil {
					return err
				}
				return serve(cmd.Context(), d, addr, cfg, ps)
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", ":8080", "listen address")
	cmd.Flags().StringVar(&schedules, "schedules", "", "report schedule config YAML (default: the embedded schedules.yaml)")
	policiesFlag(cmd, &policies)
	return cmd
}

// serve runs the HTTP server and the report scheduler until ctx is
// cancelled, then drains the server and waits for the scheduler to stop (a
// report run cut short is redone at the next start). The scheduler takes
// the server's writer lock for each run. Scans of both recompute under ps
// (nil: the built-in examples).
func serve(ctx context.Context, d *pipeline.DB, addr string, schedules reports.Config, ps *settlement.PolicySet) error {
	s, err := api.New(d, time.Now, api.WithPolicies(ps))
	if err != nil {
		return err
	}
	defer s.Close() // after the server drained: stop background ingests and scans
	runner, err := newReportRunner(d, schedules, ps)
	if err != nil {
		return err
	}
	runner.UseWriter(s.Writer())
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- runner.Serve(schedCtx) }()
	defer func() {
		stopSched()
		if err := <-schedDone; err != nil {
			slog.Error("report scheduler", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
