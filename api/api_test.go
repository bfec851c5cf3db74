package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

func newServer(t *testing.T) (*httptest.Server, pipeline.Summary) {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := t.TempDir()
	pipelinetest.Valid().Set("fee_items", 3, "amount", "99.00").WriteCSV(t, dir)
	sum, err := pipeline.Ingest(context.Background(), db, dir, pipeline.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, sum
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRoutes(t *testing.T) {
	srv, sum := newServer(t)
	tests := []struct {
		name, path string
		status     int
		contains   []string
		absent     []string
	}{
		{"health", "/healthz", 200, []string{`"ok"`}, nil},
		{"batches", "/api/v1/batches", 200, []string{sum.BatchID, `"fee_items.csv"`, `"quarantined":1`}, nil},
		{"batches bad limit", "/api/v1/batches?limit=abc", 400, []string{`"code":"invalid"`, `"field":"limit"`}, nil},
		{"batches limit out of range", "/api/v1/batches?limit=0", 400, []string{`"field":"limit"`}, nil},
		{"quarantine", "/api/v1/batches/" + sum.BatchID + "/quarantine", 200, []string{`"total":1`, `"line":5`, "amount 99.00"},
			// The raw row is not served: it may hold personal data.
			[]string{`"raw"`, "F004,S002"}},
		{"quarantine bad offset", "/api/v1/batches/" + sum.BatchID + "/quarantine?offset=-1", 400, []string{`"field":"offset"`}, nil},
		{"quarantine unknown batch", "/api/v1/batches/bnope/quarantine", 404, []string{`"code":"not_found"`}, nil},
		{"unknown route", "/api/v1/nothing", 404, []string{`"not_found"`}, nil},
		{"home page", "/", 200, []string{"批次导入台账", "fee_items.csv", "已入库"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv.URL+tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q: %s", s, body)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body has %q: %s", s, body)
				}
			}
			if strings.HasPrefix(tc.path, "/api/") {
				var v map[string]any
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Errorf("not JSON: %v", err)
				}
			}
		})
	}
}
