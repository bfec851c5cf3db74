package reports_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/medaudit/medaudit/internal/browsertest"
)

// browser starts headless Chromium with the project's flags. Without
// Chromium the test is skipped, except in CI, where scripts/test.sh
// installs it. Console errors, uncaught exceptions and dialogs (an
// injected alert) are collected in the returned problems.
func browser(t *testing.T) (context.Context, *problems) {
	t.Helper()
	ctx := browsertest.Start(t, 90*time.Second)
	p := &problems{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.add("exception: " + e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" {
				p.add("console error")
			}
		case *page.EventJavascriptDialogOpening:
			p.add("dialog: " + e.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, p
}

// problems collects what went wrong in the page, from the listener's
// goroutine.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
}

func (p *problems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// showReport opens a report file in the browser, waits until every canvas
// has a drawn Chart.js chart, checks that no script failed and saves a
// full-page screenshot as out/artifacts/shot. It returns the page's text.
func showReport(t *testing.T, html []byte, shot string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, html, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, probs := browser(t)
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatal(err)
	}
	const drawn = `(() => {
		const cs = [...document.querySelectorAll("canvas")];
		return cs.length > 0 && typeof Chart !== "undefined" && Array.isArray(window.reportCharts) &&
			window.reportCharts.length === cs.length &&
			cs.every(c => c.width > 0 && c.height > 0 && Chart.getChart(c) !== undefined);
	})()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](drawn, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("charts not drawn: %v (%v)", err, probs.all())
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ArtifactDir(t), shot), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := probs.all(); len(p) > 0 {
		t.Errorf("script problems: %v", p)
	}
	return text
}

// TestReportsInBrowser opens the monthly report and one inspection pack in
// headless Chromium and keeps screenshots.
func TestReportsInBrowser(t *testing.T) {
	db := world(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 3, 0, 0, 0, shanghai)
	r := runner(t, db.DB, at)
	monthly, err := r.Run(ctx, jobWithoutScan(t, r, "monthly"), at)
	if err != nil {
		t.Fatal(err)
	}
	text := showReport(t, mustFile(t, db.DB, monthly, "monthly-2025-12.html"), "report_monthly.png")
	for _, s := range []string{"医保基金稽核月报", "疑点概况", "挂床住院 Ghost beds"} {
		if !strings.Contains(text, s) {
			t.Errorf("monthly report page lacks %q", s)
		}
	}
	quarterly, err := r.RunNow(ctx, "quarterly", at)
	if err != nil {
		t.Fatal(err)
	}
	name := "inspection-2025Q4-H33010600001.html"
	text = showReport(t, mustFile(t, db.DB, quarterly, name), "report_inspection.png")
	for _, s := range []string{"飞行检查资料包", "杭州西溪第一人民医院", "同级同类机构比较", "2025年第4季度"} {
		if !strings.Contains(text, s) {
			t.Errorf("inspection pack page lacks %q", s)
		}
	}
}
