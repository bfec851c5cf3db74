package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

// apiCall sends a JSON request with a bearer token.
func apiCall(base, token, method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, nil
}

// ack is a verdict the server acknowledged, and when.
type ack struct {
	caseID, expert, verdict string
	at                      time.Time
}

// TestOnlineBackupUnderLoad: while ten reviewers post verdicts and a scan
// runs through the server, an admin takes an online backup (POST
// /api/v1/backups) and then another through `medaudit backup --server`.
// Each restores and verifies against its manifest, and each holds every
// verdict the server acknowledged before the backup was asked for.
func TestOnlineBackupUnderLoad(t *testing.T) {
	ctx := context.Background()
	path := copyOfCasebookDB(t)
	d, err := pipeline.Open(ctx, path, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := seatDemo(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	users := auth.NewStore(d.DB, time.Now, auth.DefaultConfig())
	token := func(id string) string {
		tok, err := users.CreateToken(ctx, id, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	backups := t.TempDir()
	s, err := api.New(d, time.Now, api.WithBackups(backups, onlineBackup(d, path)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	admin, sup := token("admin_demo"), token("sup_demo")

	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 1; i <= len(demoPanel); i++ {
		tok, expert := token(fmt.Sprintf("rev%02d", i)), demoPanel[i-1].ID
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, m, err := apiCall(srv.URL, tok, "GET", "/api/v1/queue", nil)
				if err != nil || status != 200 {
					t.Errorf("queue: %d %v", status, err)
					return
				}
				var open []string
				for _, c := range m["cases"].([]any) {
					if c := c.(map[string]any); c["state"] != "submitted" {
						open = append(open, c["case_id"].(string))
					}
				}
				if len(open) == 0 {
					return
				}
				v := []string{"violation", "no_violation"}[len(open)%2]
				status, _, err = apiCall(srv.URL, tok, "POST", "/api/v1/cases/"+open[0]+"/verdict", map[string]string{"verdict": v, "amount": "10.00", "comment": "审核"})
				if err != nil {
					t.Error(err)
					return
				}
				if status == 200 {
					mu.Lock()
					acks = append(acks, ack{open[0], expert, v, time.Now()})
					mu.Unlock()
				} else if status != http.StatusConflict {
					t.Errorf("verdict on %s: %d", open[0], status)
					return
				}
			}
		}()
	}
	status, m, err := apiCall(srv.URL, sup, "POST", "/api/v1/scans", map[string]any{"open_cases": true})
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("scan: %d %v %v", status, m, err)
	}
	scanURL := m["status_url"].(string)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
	}
	_, scan, _ := apiCall(srv.URL, sup, "GET", scanURL, nil)
	asked := time.Now()
	status, m, err = apiCall(srv.URL, admin, "POST", "/api/v1/backups", map[string]string{"name": "online-1"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("online backup: %d %v %v", status, m, err)
	}
	t.Logf("online backup taken in %.2f s while reviewers posted verdicts (scan status when asked: %v): %v", time.Since(asked).Seconds(), scan["status"], m["backup"])
	// The second, through the command line, after more verdicts.
	time.Sleep(200 * time.Millisecond)
	asked2 := time.Now()
	t.Setenv(tokenEnv, admin)
	out := run(t, "backup", "--server", srv.URL, "--name", "online-2")
	if !strings.Contains(out, `"out":"`+filepath.Join(backups, "online-2")+`"`) {
		t.Errorf("medaudit backup --server: %s", out)
	}
	// `medaudit users` goes through the server that holds the file too.
	if out := run(t, "users", "list", "--server", srv.URL); !strings.Contains(out, `"user_id":"rev01"`) {
		t.Errorf("users list --server: %.300s", out)
	}
	out = run(t, "users", "token", "--server", srv.URL, "--id", "rev01", "--label", "cli", "--days", "7")
	var issued struct{ Token string }
	if json.Unmarshal([]byte(out), &issued); !strings.HasPrefix(issued.Token, "mda_") {
		t.Errorf("users token --server: %.300s", out)
	} else if status, _, _ := apiCall(srv.URL, issued.Token, "GET", "/api/v1/me", nil); status != 200 {
		t.Errorf("the token issued through the server: %d", status)
	}
	close(stop)
	wg.Wait()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, scan, _ = apiCall(srv.URL, sup, "GET", scanURL, nil); scan["status"] != "running" {
			break
		}
	}
	if scan["status"] != "done" {
		t.Errorf("the scan that ran during the backups: %v", scan)
	}

	for _, b := range []struct {
		name  string
		asked time.Time
	}{{"online-1", asked}, {"online-2", asked2}} {
		restored := filepath.Join(t.TempDir(), "restored.duckdb")
		run(t, "restore", "--from", filepath.Join(backups, b.name), "--db", restored)
		r, err := pipeline.Open(ctx, restored, pipeline.DBConfig{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		held, before := 0, 0
		mu.Lock()
		for _, a := range acks {
			if !a.at.Before(b.asked) {
				continue
			}
			before++
			var v string
			if err := r.QueryRow(`SELECT verdict FROM assignments WHERE case_id = ? AND expert_id = ?`, a.caseID, a.expert).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v == a.verdict {
				held++
			} else {
				t.Errorf("%s: verdict of %s on %s acknowledged before the backup: restored %q", b.name, a.expert, a.caseID, v)
			}
		}
		total := len(acks)
		mu.Unlock()
		r.Close()
		t.Logf("%s: restored and verified; holds %d of %d verdicts acknowledged before it was asked for (%d acknowledged in all)", b.name, held, before, total)
		if before == 0 {
			t.Errorf("%s: no verdict acknowledged before the backup: the test proves nothing", b.name)
		}
	}
}
