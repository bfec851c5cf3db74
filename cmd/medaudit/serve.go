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
)

func newServeCmd() *cobra.Command {
	var (
		db   dbFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "serve [--db FILE] [--addr :8080]",
		Short: "Serve the API and the web pages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return db.with(cmd, false, func(d *pipeline.DB) error {
				return serve(cmd.Context(), d, addr)
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", ":8080", "listen address")
	return cmd
}

// serve runs the HTTP server until ctx is cancelled, then drains it.
func serve(ctx context.Context, d *pipeline.DB, addr string) error {
	s, err := api.New(d, time.Now)
	if err != nil {
		return err
	}
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
