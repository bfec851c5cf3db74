package api_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/medaudit/medaudit/auth"
)

// cspRecorder runs in every page before its own scripts (injected by the
// browser, so outside the page's policy) and keeps the page's CSP
// violations.
const cspRecorder = `window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });`

// TestPagesUnderStrictCSP: every page runs under the nonce policy with no
// CSP violation, console error or exception in Chromium, and the case
// page's own script (the verdict keys) works. An injected inline script is
// blocked and seen, so the check can fail.
func TestPagesUnderStrictCSP(t *testing.T) {
	e := newEnv(t)
	if err := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig()).CreateUser(context.Background(),
		auth.User{ID: "root", Role: auth.Admin, Districts: []string{"*"}}, password); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	var mu sync.Mutex
	var problems []string
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" {
				problems = append(problems, "console error")
			}
		}
	}))
	must(chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder})
	must(err)
	violations := func(where string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || ['recorder missing']`))
		must(err)
		mu.Lock()
		defer mu.Unlock()
		out := append(v, problems...)
		problems = nil
		for i := range out {
			out[i] = where + ": " + out[i]
		}
		return out
	}
	login := func(user string) {
		t.Helper()
		must(chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/login")))
		must(chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#user`), user),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
		))
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`#login`)))
		must(err)
	}
	var seen []string
	visit := func(path string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.srv.URL+path))
		must(err)
		if resp.Status != 200 {
			t.Errorf("%s: HTTP %d", path, resp.Status)
		}
		// Inline event handlers (onclick=…) never run under the policy.
		handlers, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))`))
		must(err)
		for _, h := range handlers {
			seen = append(seen, path+": inline handler "+h)
		}
		seen = append(seen, violations(path)...)
	}

	login("rev_a")
	visit("/queue")
	visit("/cases/" + e.panelCase)
	// The page's own (nonce) script handles the verdict keys.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`h1`)), chromedp.KeyEvent("1")))
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('v-violation').checked`))
	must(err)
	if !checked {
		t.Error("the case page's script did not run: key 1 did not pick the verdict")
	}
	visit("/account")
	login("root")
	for _, p := range []string{"/", "/cases", "/cases/" + e.panelCase, "/reports", "/admin", "/account"} {
		visit(p)
	}
	if len(seen) > 0 {
		t.Errorf("pages under the strict policy: %s", strings.Join(seen, "; "))
	}

	// Control: an inline script without the nonce is blocked and reported.
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.appendChild(s); return window.__ran === true; })()`))
	must(err)
	time.Sleep(200 * time.Millisecond) // the violation event is dispatched after the append
	if ctl := violations("control"); ran || len(ctl) == 0 || !strings.Contains(ctl[0], "script-src") {
		t.Errorf("an injected inline script ran=%v, violations %v", ran, ctl)
	}
}
