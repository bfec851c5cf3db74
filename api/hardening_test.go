package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// loginAs posts a sign-in from the test's socket with an optional
// X-Forwarded-For and returns the status and Retry-After.
func loginAs(t *testing.T, base, user, pw, forwardedFor string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"user": {user}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestSpoofedForwardedForDoesNotResetTheLimiter: without trusted proxies a
// client cannot become another client by sending X-Forwarded-For, so the
// per-client limit holds; behind a trusted proxy the header names the
// client.
func TestSpoofedForwardedForDoesNotResetTheLimiter(t *testing.T) {
	e := newEnv(t)
	sec := api.DefaultSecurity()
	sec.Auth.Throttle.ClientMaxFailures = 5
	_, direct := e.server(t, api.WithSecurity(sec))
	for i := range 5 {
		if status, _ := loginAs(t, direct, fmt.Sprintf("nobody%d", i), "guess", fmt.Sprintf("203.0.113.%d", i)); status != http.StatusSeeOther {
			t.Fatalf("attempt %d: %d", i, status)
		}
	}
	status, retry := loginAs(t, direct, "sup", password, "198.51.100.77")
	if status != http.StatusTooManyRequests || retry == "" {
		t.Errorf("6th attempt with a fresh spoofed X-Forwarded-For: %d Retry-After %q, want 429", status, retry)
	}

	sec.TrustedProxies = []string{"127.0.0.1"}
	_, proxied := e.server(t, api.WithSecurity(sec))
	for i := range 5 {
		loginAs(t, proxied, fmt.Sprintf("nobody%d", i), "guess", "203.0.113.9")
	}
	if status, _ := loginAs(t, proxied, "sup", password, "203.0.113.9"); status != http.StatusTooManyRequests {
		t.Errorf("the proxied client over its limit: %d", status)
	}
	if status, _ := loginAs(t, proxied, "sup", password, "198.51.100.77"); status != http.StatusSeeOther {
		t.Errorf("another client behind the trusted proxy: %d", status)
	}
}

// TestParallelWrongLoginsOverHTTP: 200 parallel wrong passwords for a real
// user from 200 addresses (behind a trusted proxy) never run more than
// MaxHashes argon2id hashes at once, and the real user signs in as soon as
// the documented delay (AccountMaxDelay) has passed.
func TestParallelWrongLoginsOverHTTP(t *testing.T) {
	e := newEnv(t)
	sec := api.DefaultSecurity()
	sec.TrustedProxies = []string{"127.0.0.1"}
	sec.Auth.Throttle.MaxHashes = 3
	sec.Auth.Throttle.BaseDelay, sec.Auth.Throttle.AccountMaxDelay = 100*time.Millisecond, 800*time.Millisecond
	s, base := e.server(t, api.WithSecurity(sec))
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := loginAs(t, base, "sup", "wrong guess", fmt.Sprintf("10.9.%d.%d", i/200, i%200+1))
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("200 parallel wrong logins: statuses %v, peak hashes %d", statuses, s.PeakHashes())
	if p := s.PeakHashes(); p < 1 || p > 3 {
		t.Errorf("peak concurrent hashes %d, want 1..3", p)
	}
	if statuses[http.StatusSeeOther]+statuses[http.StatusTooManyRequests] != 200 {
		t.Errorf("statuses %v", statuses)
	}
	start := time.Now()
	for {
		status, retry := loginAs(t, base, "sup", password, "192.0.2.10")
		if status == http.StatusSeeOther {
			break
		}
		if status != http.StatusTooManyRequests || time.Since(start) > 2*time.Second {
			t.Fatalf("the real user after %s: %d (Retry-After %s)", time.Since(start), status, retry)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if waited := time.Since(start); waited > 800*time.Millisecond+500*time.Millisecond {
		t.Errorf("the real user waited %s, the documented delay is 800 ms", waited)
	}
}

// TestRevokedTokenIsRefusedAtOnce: a token that has just answered (and so
// sits in the credential cache) gets 401 on the very next request after
// its revocation, by its owner or by an admin; the revocation is in the
// audit trail.
func TestRevokedTokenIsRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	users := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig())
	if err := users.CreateUser(context.Background(), auth.User{ID: "root", Role: auth.Admin, Districts: []string{"*"}}, password); err != nil {
		t.Fatal(err)
	}
	aud, admin := e.token(t, "aud_xihu"), e.token(t, "root")
	for _, by := range []*tokenClient{aud, admin} {
		status, m, raw := aud.call("POST", "/api/v1/tokens", "", map[string]any{"name": "nightly export", "expires_in_days": 7})
		if status != http.StatusCreated {
			t.Fatalf("issue: %d %s", status, raw)
		}
		bot := &tokenClient{t: t, base: aud.base, tok: m["token"].(string)}
		id := m["token_info"].(map[string]any)["token_id"].(string)
		if status, _, _ := bot.call("GET", "/api/v1/me", "", nil); status != 200 {
			t.Fatalf("fresh token: %d", status)
		}
		if status, _, raw := by.call("DELETE", "/api/v1/tokens/"+id, "", nil); status != 200 {
			t.Fatalf("revoke: %d %s", status, raw)
		}
		if status, _, _ := bot.call("GET", "/api/v1/me", "", nil); status != http.StatusUnauthorized {
			t.Errorf("revoked token (by %s): %d, want 401 at once", by.tok[:8], status)
		}
	}
	// Another auditor cannot revoke (or see) aud_xihu's tokens.
	other := e.token(t, "aud_other")
	_, m, _ := aud.call("POST", "/api/v1/tokens", "", map[string]any{"name": "third"})
	if status, _, _ := other.call("DELETE", "/api/v1/tokens/"+m["token_info"].(map[string]any)["token_id"].(string), "", nil); status != http.StatusNotFound {
		t.Errorf("a stranger revokes: %d", status)
	}
	if status, _, _ := other.call("GET", "/api/v1/tokens?user_id=aud_xihu", "", nil); status != http.StatusForbidden {
		t.Errorf("a stranger lists: %d", status)
	}
	var events int
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events WHERE case_id = 'user:aud_xihu' AND kind = 'token_revoked'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Errorf("%d token_revoked events in the trail, want 2", events)
	}
}

// TestAdminChangesUser: an admin changes a user's role and districts and
// disables them over the API; each change ends the user's sessions, is in
// the trail with before and after, and a disabled user's token is refused.
func TestAdminChangesUser(t *testing.T) {
	e := newEnv(t)
	users := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig())
	users.CreateUser(context.Background(), auth.User{ID: "root", Role: auth.Admin, Districts: []string{"*"}}, password)
	admin, aud := e.token(t, "root"), e.token(t, "aud_other")
	web := e.client(t).login("aud_other")
	if status, _, raw := admin.call("PATCH", "/api/v1/users/aud_other", "", map[string]any{"districts": []string{"330102", "330106"}}); status != 200 {
		t.Fatalf("patch: %d %s", status, raw)
	}
	if status, _, _ := web.do("GET", "/cases", nil, nil); status != http.StatusSeeOther {
		t.Errorf("session after the change: %d, want sent to sign in again", status)
	}
	if status, _, _ := aud.call("GET", "/api/v1/cases/"+e.panelCase, "", nil); status != 200 {
		t.Errorf("the token sees the new district: %d", status)
	}
	if status, _, _ := admin.call("PATCH", "/api/v1/users/aud_other", "", map[string]any{"disabled": true}); status != 200 {
		t.Fatal(status)
	}
	if status, _, _ := aud.call("GET", "/api/v1/me", "", nil); status != http.StatusUnauthorized {
		t.Errorf("disabled user's token: %d", status)
	}
	if status, _, _ := admin.call("PATCH", "/api/v1/users/root", "", map[string]any{"role": "auditor"}); status != http.StatusBadRequest {
		t.Errorf("admin demotes themself: %d", status)
	}
	var payload string
	if err := e.db.QueryRow(`SELECT payload FROM case_events WHERE case_id = 'user:aud_other' AND kind = 'user_changed' ORDER BY seq LIMIT 1`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(payload, `"before":{"disabled":false,"districts":["330102"]`) || !strings.Contains(payload, `"330106"`) {
		t.Errorf("audit payload %s", payload)
	}
	// The admin page lists them; a change through its form is audited too.
	page := e.client(t).login("root")
	status, body, _ := page.do("GET", "/admin", nil, nil)
	if status != 200 || !strings.Contains(body, `id="user-aud_other" data-disabled="true"`) {
		t.Errorf("admin page: %d", status)
	}
	status, _, h := page.do("POST", "/admin/users/aud_other", url.Values{"csrf": {page.csrf}, "role": {"supervisor"}, "districts": {"330102"}}, nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin?msg=saved") {
		t.Errorf("admin form: %d %s", status, h.Get("Location"))
	}
	var role string
	var disabled bool
	if err := e.db.QueryRow(`SELECT role, disabled FROM users WHERE user_id = 'aud_other'`).Scan(&role, &disabled); err != nil {
		t.Fatal(err)
	}
	if role != auth.Supervisor || disabled {
		t.Errorf("after the form: %s disabled=%v", role, disabled)
	}
}

// TestPasswordChangeEndsSessionsAndTokens over HTTP.
func TestPasswordChangeEndsSessionsAndTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "aud_xihu")
	web := e.client(t).login("aud_xihu")
	if status, _, raw := tok.call("POST", "/api/v1/me/password", "", map[string]any{"old_password": "nope nope nope", "new_password": "another long password"}); status != 400 {
		t.Errorf("wrong old password: %d %s", status, raw)
	}
	if status, _, raw := tok.call("POST", "/api/v1/me/password", "", map[string]any{"old_password": password, "new_password": "another long password"}); status != 200 {
		t.Fatalf("change: %d %s", status, raw)
	}
	if status, _, _ := tok.call("GET", "/api/v1/me", "", nil); status != http.StatusUnauthorized {
		t.Errorf("token after the change: %d", status)
	}
	if status, _, _ := web.do("GET", "/cases", nil, nil); status != http.StatusSeeOther {
		t.Errorf("session after the change: %d", status)
	}
}

// TestStrictCSP: every page's policy allows scripts only from the server
// or with that answer's nonce, and the page's own scripts carry it; report
// HTML is sandboxed; HSTS and Secure cookies come with BehindTLS.
func TestStrictCSP(t *testing.T) {
	e := newEnv(t)
	rev := e.client(t).login("rev_a")
	_, body, h := rev.do("GET", "/cases/"+e.panelCase, nil, nil)
	csp := h.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'self' 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
	if m == nil || strings.Contains(strings.SplitN(csp, "script-src", 2)[1], "unsafe-inline") {
		t.Fatalf("policy %q", csp)
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
	if len(scripts) == 0 {
		t.Fatal("the case page has no script to check")
	}
	for _, s := range scripts {
		if !strings.Contains(s, ` nonce="`+m[1]+`"`) {
			t.Errorf("script tag %s without the answer's nonce", s)
		}
	}
	_, _, h2 := rev.do("GET", "/queue", nil, nil)
	if h2.Get("Content-Security-Policy") == csp {
		t.Error("the nonce does not change between answers")
	}
	aud := e.token(t, "aud_xihu")
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/reports/1/files/monthly-2025-03.html", nil)
	req.Header.Set("Authorization", "Bearer "+aud.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || !strings.HasPrefix(got, "sandbox") || strings.Contains(got, "allow-same-origin") {
		t.Errorf("report: %d policy %q", resp.StatusCode, got)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS without TLS")
	}
	sec := api.DefaultSecurity()
	sec.BehindTLS = true
	_, base := e.server(t, api.WithSecurity(sec))
	req, _ = http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"user": {"aud_xihu"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("behind TLS: cookie %q HSTS %q", resp.Header.Get("Set-Cookie"), resp.Header.Get("Strict-Transport-Security"))
	}
}

// TestAPIRateLimit: past a user's burst, 429 with Retry-After; another
// user is unaffected.
func TestAPIRateLimit(t *testing.T) {
	e := newEnv(t)
	sec := api.DefaultSecurity()
	sec.RatePerSecond, sec.Burst = 1, 5
	_, base := e.server(t, api.WithSecurity(sec))
	aud, sup := e.token(t, "aud_xihu"), e.token(t, "sup")
	aud.base, sup.base = base, base
	for i := range 5 {
		if status, _, _ := aud.call("GET", "/api/v1/me", "", nil); status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+aud.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("6th request: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, _, _ := sup.call("GET", "/api/v1/me", "", nil); status != 200 {
		t.Errorf("another user: %d", status)
	}
	time.Sleep(1100 * time.Millisecond)
	if status, _, _ := aud.call("GET", "/api/v1/me", "", nil); status != 200 {
		t.Errorf("after Retry-After: %d", status)
	}
}

// TestUploadRefusedBeforeStored: an upload is refused without writing a
// byte when the writer is busy, when its declared length exceeds the
// quota, and when its content overruns the quota (the staged part is
// removed); nothing is ingested.
func TestUploadRefusedBeforeStored(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	body, ct := batchArchive(t, dir, "tar", "")
	staging := t.TempDir()
	sec := api.DefaultSecurity()
	var files int64
	entries, _ := os.ReadDir(dir)
	for _, f := range entries {
		info, _ := f.Info()
		files += info.Size()
	}
	sec.UploadQuota = files / 2
	s, base := e.server(t, api.WithSecurity(sec), api.WithUploads(staging, api.DefaultUploadLimits()))
	aud := e.token(t, "aud_xihu")
	aud.base = base
	var runs0 int
	if err := e.db.QueryRow(`SELECT count(*) FROM ingest_runs`).Scan(&runs0); err != nil {
		t.Fatal(err)
	}

	s.Writer().Acquire("test holds the writer")
	status, _, raw := aud.call("POST", "/api/v1/batches", ct, body)
	s.Writer().Release()
	if status != http.StatusConflict || !strings.Contains(raw, "busy") {
		t.Errorf("writer busy: %d %s", status, raw)
	}
	status, _, raw = aud.call("POST", "/api/v1/batches", ct, body)
	if status != http.StatusTooManyRequests || !strings.Contains(raw, "upload space is full") {
		t.Errorf("declared length over the quota: %d %s", status, raw)
	}
	// Chunked: no declared length, so the quota stops it while streaming.
	req, _ := http.NewRequest("POST", base+"/api/v1/batches", struct{ *bytes.Reader }{bytes.NewReader(body)})
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+aud.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("streamed over the quota: %d", resp.StatusCode)
	}
	left, _ := os.ReadDir(staging)
	if len(left) != 0 {
		t.Errorf("%d entries left in the staging folder", len(left))
	}
	var runs1 int
	if err := e.db.QueryRow(`SELECT count(*) FROM ingest_runs`).Scan(&runs1); err != nil {
		t.Fatal(err)
	}
	if runs1 != runs0 {
		t.Errorf("%d ingest runs started by refused uploads", runs1-runs0)
	}
}

// TestOverdueEscalation: the scheduler's escalation marks a case past its
// due date once; the supervisor's page and the API list it with when; a
// user of another district does not see it.
func TestOverdueEscalation(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`UPDATE cases SET due_at = now() - INTERVAL 3 DAY WHERE case_id = ?`, e.panelCase); err != nil {
		t.Fatal(err)
	}
	cases := casebook.NewStore(e.db.DB, time.Now)
	for range 2 {
		if _, err := cases.EscalateOverdue(context.Background(), "system:scheduler"); err != nil {
			t.Fatal(err)
		}
	}
	sup := e.client(t).login("sup")
	status, body, _ := sup.do("GET", "/overdue", nil, nil)
	if status != 200 || !strings.Contains(body, e.panelCase) || strings.Contains(body, "待升级") {
		t.Errorf("supervisor's overdue page: %d", status)
	}
	_, m, _ := e.token(t, "aud_other").call("GET", "/api/v1/overdue", "", nil)
	if n := len(m["cases"].([]any)); n != 0 {
		t.Errorf("another district sees %d overdue cases", n)
	}
	_, m, _ = e.token(t, "aud_xihu").call("GET", "/api/v1/audit?case_id="+e.panelCase, "", nil)
	overdue := 0
	for _, ev := range m["events"].([]any) {
		if ev.(map[string]any)["kind"] == "overdue" {
			overdue++
		}
	}
	if overdue != 1 {
		t.Errorf("%d overdue events in the case's trail, want 1", overdue)
	}
}

// TestExpiredSessionsPurged: the server deletes expired sessions on its
// own, every PurgeEvery.
func TestExpiredSessionsPurged(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`INSERT INTO sessions VALUES ('expired-hash', 'aud_xihu', 'x', ?, ?)`, time.Now().Add(-10*time.Hour), time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sec := api.DefaultSecurity()
	sec.PurgeEvery = 50 * time.Millisecond
	e.server(t, api.WithSecurity(sec))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := e.db.QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = 'expired-hash'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired session is still there after 5 s")
		}
	}
}
