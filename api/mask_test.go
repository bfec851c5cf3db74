package api_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestReviewerNeverReceivesACardNumber: the evidence of the panel case
// names the patient's card number and person ids (as facts and in its
// summary); a reviewer's case JSON and page carry stable pseudonyms
// instead, never the raw values; a supervisor sees them.
func TestReviewerNeverReceivesACardNumber(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`UPDATE flags SET evidence = '{"title":"住院期间无诊疗","summary":"卡号 A12345678 住院3天中2天只有床位费（参保人 P001）","facts":{"idle_days":2,"card_no":"A12345678","persons_on_card":["P001","P002"]},"score_parts":{"idle":0.8},"thresholds":{"min_idle_share":0.5}}' WHERE flag_id = 'F1'`); err != nil {
		t.Fatal(err)
	}
	// as a rescan that wrote this evidence would: the stored case files are stale
	if _, err := e.db.Exec(`INSERT INTO scans SELECT coalesce(max(scan_id), 0) + 1, now(), now(), 'done', 1, NULL FROM scans`); err != nil {
		t.Fatal(err)
	}
	raw := []string{"A12345678", "P001", "P002"}
	rev := e.token(t, "rev_a")
	_, _, body := rev.call("GET", "/api/v1/cases/"+e.panelCase, "", nil)
	page := e.client(t).login("rev_a")
	_, html, _ := page.do("GET", "/cases/"+e.panelCase, nil, nil)
	_, _, again := rev.call("GET", "/api/v1/cases/"+e.panelCase+"?again=1", "", nil)
	for what, text := range map[string]string{"JSON": body, "page": html, "second answer": again} {
		for _, r := range raw {
			if strings.Contains(text, r) {
				t.Errorf("the reviewer's %s carries %s", what, r)
			}
		}
	}
	card := regexp.MustCompile(`card-[0-9a-f]{12}`).FindString(body)
	person := regexp.MustCompile(`person-[0-9a-f]{12}`).FindString(body)
	if card == "" || person == "" {
		t.Fatalf("no pseudonyms in the reviewer's JSON: %.600s", body)
	}
	if !strings.Contains(html, card) || !strings.Contains(again, card) {
		t.Error("the card's pseudonym is not stable across answers")
	}
	sup := e.token(t, "sup")
	_, _, supBody := sup.call("GET", "/api/v1/cases/"+e.panelCase, "", nil)
	if !strings.Contains(supBody, "A12345678") || strings.Contains(supBody, card) {
		t.Error("the supervisor does not see the card number")
	}
}
