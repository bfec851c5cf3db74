package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

func newServeCmd() *cobra.Command {
	var (
		db         dbFlags
		addr       string
		schedules  string
		sec        = api.DefaultSecurity()
		backupDir  string
		thresholds thresholdsFlag
	)
	cmd := &cobra.Command{
		Use:   "serve [--db FILE] [--addr :8080] [--schedules FILE] [--trusted-proxies CIDR,…] [--behind-tls] [--backup-dir DIR] [--thresholds FILE] [--policies FILE]",
		Short: "Serve the API and the web pages, and run the scheduled reports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := thresholds.config(); err != nil {
				return err
			}
			return db.with(cmd, false, func(d *pipeline.DB) error {
				cfg, err := loadSchedules(schedules)
				if err != nil {
					return err
				}
				return serve(cmd.Context(), d, db.path, addr, cfg, &thresholds, time.Now, backupDir, api.WithSecurity(sec))
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", ":8080", "listen address")
	cmd.Flags().StringVar(&schedules, "schedules", "", "report schedule config YAML (default: the embedded schedules.yaml)")
	thresholds.register(cmd)
	cmd.Flags().StringSliceVar(&sec.TrustedProxies, "trusted-proxies", nil,
		"addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (default none: the client address is the socket's)")
	cmd.Flags().BoolVar(&sec.BehindTLS, "behind-tls", false, "users reach the server over HTTPS (here or at the proxy): Secure cookies and HSTS")
	cmd.Flags().Float64Var(&sec.RatePerSecond, "rate-per-user", sec.RatePerSecond, "API requests a second each user may make (a token bucket; over it: 429 with Retry-After)")
	cmd.Flags().IntVar(&sec.Burst, "rate-burst", sec.Burst, "API requests a user may make at once before --rate-per-user applies")
	cmd.Flags().Int64Var(&sec.CacheBytes, "cache-bytes", sec.CacheBytes, "bytes of API answers the response cache may hold (keys and bodies; default 256 MiB)")
	cmd.Flags().StringVar(&backupDir, "backup-dir", "", "folder of online and scheduled backups (POST /api/v1/backups, medaudit backup --server, backup jobs; default: backups/ next to --db)")
	return cmd
}

// serve runs the HTTP server and the report scheduler until ctx is
// cancelled, then drains the server and waits for the scheduler to stop (a
// report run cut short is redone at the next start). The scheduler takes
// the server's writer lock for each run.
//
// serve runs the API and pages on addr and the report scheduler, whose
// schedule reads the clock reportNow (time.Now but in the demo).
//
// Online backups (the API's and the backup jobs') go to backupDir, by
// default the folder backups next to the database file.
func serve(ctx context.Context, d *pipeline.DB, path, addr string, schedules reports.Config, th *thresholdsFlag, reportNow func() time.Time, backupDir string, opts ...api.Option) error {
	if backupDir == "" {
		backupDir = filepath.Join(filepath.Dir(path), "backups")
	}
	dcfg, err := th.config()
	if err != nil {
		return err
	}
	takeBackup := onlineBackup(d, path)
	s, err := api.New(d, time.Now, append(opts, api.WithDetectors(dcfg, th.source()), api.WithPolicies(dcfg.Policies), api.WithBackups(backupDir, takeBackup))...)
	if err != nil {
		return err
	}
	defer s.Close() // after the server drained: stop background ingests and scans
	runner, err := newReportRunner(d, schedules, th, reportNow)
	if err != nil {
		return err
	}
	runner.UseWriter(s.Writer())
	runner.UseBackups(backupDir, takeBackup)
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
