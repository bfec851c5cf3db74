package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medaudit/medaudit/internal/browsertest"
)

func artifactDir(t *testing.T) string { return browsertest.ArtifactDir(t) }

func browser(t *testing.T) context.Context { return browsertest.Start(t, 60*time.Second) }

// TestReviewerInBrowser: a reviewer logs in, opens the top case of the
// queue, sees the timeline chart and the evidence in Chinese, and submits a
// verdict with the keyboard-friendly form; a screenshot is kept.
func TestReviewerInBrowser(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Clicks that navigate run through RunResponse, which waits for the new
	// page: a query on the page being replaced fails at random.
	navigate := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, steps...)
		must(err)
		if resp.Status != 200 {
			t.Fatalf("%s: HTTP %d", resp.URL, resp.Status)
		}
	}
	navigate(chromedp.Navigate(e.srv.URL + "/login"))
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#user`), "rev_a"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
	))
	navigate(chromedp.Click(chromedp.CSS(`#login`)))
	navigate(chromedp.Click(chromedp.CSS(`#top-case`)))
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#timeline`))))
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#timeline rect.cell').length`))
	must(err)
	evidence, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#flags`)))
	must(err)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	must(chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#v-violation`)),
		chromedp.SendKeys(chromedp.CSS(`#amount`), "900.00"),
		chromedp.SendKeys(chromedp.CSS(`#comment`), "住院期间无诊疗记录"),
	))
	navigate(chromedp.Click(chromedp.CSS(`#submit-verdict`)))
	queueAfter, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	must(err)
	if err := os.WriteFile(filepath.Join(artifactDir(t), "review-case.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if cells == 0 {
		t.Error("the timeline chart has no cells")
	}
	if !strings.Contains(evidence, "疑点及证据") || !strings.Contains(evidence, "住院期间无诊疗") || !strings.Contains(evidence, "住院3天中2天只有床位费") {
		t.Errorf("evidence section: %q", evidence)
	}
	if !strings.Contains(queueAfter, "已提交") || !strings.Contains(queueAfter, "队列为空") {
		t.Errorf("after submitting: %q", queueAfter)
	}
	var verdict string
	if err := e.db.QueryRow(`SELECT a.verdict FROM assignments a JOIN users u ON u.expert_id = a.expert_id WHERE u.user_id = 'rev_a'`).Scan(&verdict); err != nil {
		t.Fatal(err)
	}
	if verdict != "violation" {
		t.Errorf("stored verdict %q", verdict)
	}
}
