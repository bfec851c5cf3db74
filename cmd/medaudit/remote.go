package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// remoteFlags send a command to a running server instead of opening the
// database (which the server holds): its URL and an admin's API token, read
// from the environment so that it never shows in a process list.
type remoteFlags struct {
	server string
}

const tokenEnv = "MEDAUDIT_TOKEN"

func (f *remoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "URL of a running medaudit serve to send this to (the API token is read from $"+tokenEnv+")")
}

// call sends method path with body (JSON) and decodes the JSON answer; an
// error answer becomes an error with the server's message.
func (f *remoteFlags) call(ctx context.Context, method, path string, body any) (map[string]any, error) {
	token := os.Getenv(tokenEnv)
	if token == "" {
		return nil, fmt.Errorf("--server needs an admin's API token in $%s", tokenEnv)
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 6*time.Hour)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.server, "/")+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d, not JSON", method, path, resp.StatusCode)
	}
	if resp.StatusCode >= 300 {
		if e, ok := out["error"].(map[string]any); ok {
			return out, fmt.Errorf("%s %s: HTTP %d: %v", method, path, resp.StatusCode, e["message"])
		}
		return out, errors.New(resp.Status)
	}
	return out, nil
}
