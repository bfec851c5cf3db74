package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// personal data of the fixture's patient P001, which no answer to another
// district, no error and no log line may carry.
const (
	fullID   = "611002195603121232"
	fullName = "张建国"
)

// TestSQLInjectionThroughFilters sends injection payloads through every
// query parameter of every listing: each is a bound parameter or a
// validated value, so the answer is a normal page or a 400 naming the
// field, never a 500, never another district's or a person's data, and
// the tables are intact. (No route takes a sort parameter: the orders are
// fixed.)
func TestSQLInjectionThroughFilters(t *testing.T) {
	e := newEnv(t)
	aud := e.token(t, "aud_xihu")
	payloads := []string{
		`' OR '1'='1`,
		`1; DROP TABLE cases;--`,
		`') UNION SELECT id_number, name FROM persons--`,
		`330106' OR district <> '`,
		`%' OR 1=1 --`,
		`\x00`,
	}
	params := map[string][]string{
		"/api/v1/flags":        {"family", "detector", "org_code", "subject_id", "status", "min_score", "from", "to", "limit", "offset"},
		"/api/v1/cases":        {"state", "district", "org_code", "family", "specialty", "limit", "offset"},
		"/api/v1/institutions": {"kind", "limit", "offset"},
		"/api/v1/audit":        {"case_id", "actor", "since", "limit", "offset"},
		"/api/v1/scans":        {"limit"},
		"/api/v1/batches":      {"limit"},
		"/api/v1/reports":      {"limit"},
		"/api/v1/batches/" + e.batchID + "/quarantine":                {"limit", "offset"},
		"/api/v1/institutions/H33010600001/score":                     {"year", "withheld"},
		"/api/v1/institutions/H33010600001/inspection?quarter=2025Q1": {"format"},
	}
	tried := 0
	for path, names := range params {
		for _, name := range names {
			for _, p := range payloads {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				status, _, body := aud.call("GET", path+sep+name+"="+url.QueryEscape(p), "", nil)
				tried++
				if status != 200 && status != 400 {
					t.Errorf("%s %s=%q: HTTP %d %.200s", path, name, p, status, body)
				}
				if strings.Contains(body, fullID) || strings.Contains(body, fullName) || strings.Contains(body, "330102") {
					t.Errorf("%s %s=%q leaked data", path, name, p)
				}
			}
		}
	}
	for _, table := range []string{"cases", "flags", "persons", "case_events"} {
		if _, err := e.db.Exec(`SELECT count(*) FROM ` + table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	t.Logf("%d injection requests, none answered 5xx or leaked", tried)
}

// TestHTMLInjectionInPages: item names, diagnoses, institution names and
// reviewers' comments from the data are escaped on the case page and in
// the queue.
func TestHTMLInjectionInPages(t *testing.T) {
	e := newEnv(t)
	const script = `<script>alert("x")</script>`
	for _, q := range []string{
		`UPDATE fee_items SET item_name = '` + script + `' WHERE item_id = 'F001'`,
		`UPDATE settlements SET diagnosis_code = '<img src=x onerror=alert(1)>' WHERE settlement_id = 'S001'`,
		`UPDATE institutions SET name = '` + script + `' WHERE org_code = 'H33010600001'`,
		`UPDATE flags SET evidence = json_object('summary', '` + script + `', 'facts', json_object('item', '` + script + `'))`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"rev_a", "sup"} {
		c := e.client(t).login(user)
		if user == "rev_a" {
			status, _, _ := c.do("POST", "/cases/"+e.panelCase+"/verdict", url.Values{"csrf": {c.csrf}, "verdict": {"no_violation"}, "comment": {script}}, nil)
			if status != http.StatusSeeOther {
				t.Fatalf("verdict: %d", status)
			}
		}
		for _, page := range []string{"/cases/" + e.panelCase, "/queue", "/cases"} {
			status, body, _ := c.do("GET", page, nil, nil)
			if status == 403 {
				continue
			}
			if strings.Contains(body, `<script>alert`) || strings.Contains(body, `<img src=x`) {
				t.Errorf("%s as %s: unescaped markup from the data", page, user)
			}
		}
	}
	sup := e.client(t).login("sup")
	_, body, _ := sup.do("GET", "/cases/"+e.panelCase, nil, nil)
	if !strings.Contains(body, "&lt;script&gt;alert") {
		t.Error("the case page does not show the item name as text")
	}
}

// TestCSRFOnEveryStateChange: every state-changing route reached with a
// session cookie refuses a missing or wrong form token, and changes
// nothing.
func TestCSRFOnEveryStateChange(t *testing.T) {
	e := newEnv(t)
	s, _ := e.server(t)
	var events0 int
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events`).Scan(&events0); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, route := range s.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if method != "POST" || routeAccess[route].public {
			continue
		}
		path = strings.NewReplacer("{id}", e.panelCase).Replace(path)
		user := "aud_xihu"
		if strings.HasSuffix(path, "/verdict") {
			user = "rev_a"
		}
		c := e.client(t).login(user)
		for _, tok := range []string{"", "forged-" + c.csrf} {
			form := url.Values{"verdict": {"violation"}, "amount": {"1.00"}}
			headers := map[string]string{}
			if tok != "" {
				form.Set("csrf", tok)
				headers["X-CSRF-Token"] = tok
			}
			status, body, _ := c.do("POST", path, form, headers)
			if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("%s with token %q: %d", route, tok, status)
			}
			checked++
		}
	}
	var events1 int
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events`).Scan(&events1); err != nil {
		t.Fatal(err)
	}
	if events1 != events0 {
		t.Errorf("refused requests wrote %d events", events1-events0)
	}
	t.Logf("%d state-changing requests without a valid token refused", checked)
}

// TestSessionsAndLogins: a planted session cookie is replaced at login
// (no fixation) and never authenticates; repeated wrong passwords delay the
// account (429 with Retry-After, even for the right password) but do not
// lock it: after the delay the right password works; no credential,
// password or ID number reaches the logs.
func TestSessionsAndLogins(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	e := newEnv(t)

	c := e.client(t)
	planted := "attacker-chosen-session-value-0123456789"
	u, _ := url.Parse(e.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "medaudit_session", Value: planted, Path: "/"}})
	if status, _, h := c.do("GET", "/cases", nil, nil); status != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("planted cookie: %d %s", status, h.Get("Location"))
	}
	c.login("aud_xihu")
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "medaudit_session" && ck.Value == planted {
			t.Error("the session cookie was not replaced at login")
		}
	}
	if status, _, _ := c.do("GET", "/cases", nil, nil); status != 200 {
		t.Errorf("after login: %d", status)
	}

	tok := e.token(t, "aud_xihu")
	tok.call("GET", "/api/v1/cases/"+e.panelCase, "", nil)
	tok.call("GET", "/api/v1/flags?subject_id="+fullID, "", nil)

	brute := e.client(t)
	for i := range 4 {
		status, _, h := brute.do("POST", "/login", url.Values{"user": {"sup"}, "password": {"guess number " + string(rune('a'+i))}}, nil)
		switch {
		case i < 3 && (status != http.StatusSeeOther || h.Get("Location") != "/login?error=bad"):
			t.Fatalf("attempt %d: %d %s", i, status, h.Get("Location"))
		case i == 3 && (status != http.StatusTooManyRequests || h.Get("Retry-After") != "1"):
			t.Errorf("4th wrong password: %d Retry-After %q, want 429 and 1 s", status, h.Get("Retry-After"))
		}
	}
	if status, _, _ := brute.do("POST", "/login", url.Values{"user": {"sup"}, "password": {password}}, nil); status != http.StatusTooManyRequests {
		t.Errorf("right password during the delay: %d", status)
	}
	time.Sleep(1100 * time.Millisecond)
	if status, _, h := brute.do("POST", "/login", url.Values{"user": {"sup"}, "password": {password}}, nil); status != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Errorf("right password after the delay: %d %s", status, h.Get("Location"))
	}

	out := logs.String()
	for _, secret := range []string{planted, tok.tok, strings.TrimPrefix(tok.tok, "mda_"), password, "guess number", fullID, fullName} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs carry a secret or personal datum (%d bytes of logs)", len(out))
		}
	}
	if !strings.Contains(out, "login") {
		t.Error("no log captured: the check above proves nothing")
	}
}
