package reports_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/medaudit/medaudit/reports"
)

const (
	script    = `<script>alert(1)</script>`
	hyperlink = `=HYPERLINK("http://x","y")`
)

// TestInjection puts markup and spreadsheet formulas into an institution
// name, a flag summary (which quotes diagnoses), an item name and a
// reviewer's comment: the HTML shows them escaped, the workbook as plain
// string cells, and the browser runs no injected script.
func TestInjection(t *testing.T) {
	db := world(t)
	ctx := context.Background()
	const org = "H33010600001"
	var flagID, settlement string
	if err := db.QueryRow(`SELECT flag_id, subject_id FROM flags WHERE org_code = ? AND subject_type = 'settlement' AND status = 'open'
		AND subject_id IN (SELECT settlement_id FROM settlements WHERE settled_at >= '2025-10-01')
		ORDER BY amount_at_risk DESC LIMIT 1`, org).Scan(&flagID, &settlement); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE institutions SET name = ? WHERE org_code = ?`, []any{"医院" + script, org}},
		{`UPDATE flags SET evidence = json_merge_patch(evidence, json_object('summary', ?)) WHERE flag_id = ?`, []any{hyperlink + " 诊断 " + script, flagID}},
		{`UPDATE fee_items SET item_name = ? WHERE settlement_id = ?`, []any{hyperlink, settlement}},
		{`UPDATE assignments SET comment = ? WHERE case_id IN (SELECT case_id FROM case_flags WHERE flag_id = ?)`, []any{hyperlink + script, flagID}},
		{`INSERT INTO assignments (case_id, expert_id, round, assigned_at, due_at, submitted_at, verdict, comment)
			SELECT case_id, 'dr9', 3, now(), now(), now(), 'violation', ? FROM case_flags WHERE flag_id = ?`, []any{hyperlink + script, flagID}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	pack, err := reports.InspectionPack(ctx, db.DB, org, "2025Q4", time.Date(2026, 1, 2, 9, 0, 0, 0, shanghai))
	if err != nil {
		t.Fatal(err)
	}
	html := string(pack.HTML)
	if strings.Contains(html, script) || strings.Contains(html, "<script>alert") {
		t.Error("the pack contains the injected script unescaped")
	}
	escaped := "&lt;script&gt;alert(1)&lt;/script&gt;"
	if n := strings.Count(html, escaped); n < 3 {
		t.Errorf("escaped script shown %d times, want the name, the summary and the comment", n)
	}
	if !strings.Contains(html, "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)") {
		t.Error("the item name is not shown as text")
	}

	x, err := excelize.OpenReader(bytes.NewReader(pack.XLSX))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	found := map[string]bool{}
	for _, sheet := range x.GetSheetList() {
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				if !strings.Contains(v, "HYPERLINK") {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				formula, _ := x.GetCellFormula(sheet, cell)
				typ, _ := x.GetCellType(sheet, cell)
				if formula != "" || typ != excelize.CellTypeSharedString || !strings.HasPrefix(v, "=HYPERLINK(") {
					t.Errorf("%s!%s: formula %q type %v value %q", sheet, cell, formula, typ, v)
				}
				found[sheet] = true
			}
		}
	}
	for _, sheet := range []string{"疑点", "项目", "案件"} {
		if !found[sheet] {
			t.Errorf("sheet %s does not show the injected text", sheet)
		}
	}
	text := showReport(t, pack.HTML, "report_injection.png")
	if !strings.Contains(text, script) {
		t.Error("the page does not show the injected text as text")
	}
}

func TestInspectionPackErrors(t *testing.T) {
	db := world(t)
	ctx := context.Background()
	if _, err := reports.InspectionPack(ctx, db.DB, "H99999999999", "2025Q4", time.Now()); !errors.Is(err, reports.ErrNotFound) {
		t.Errorf("unknown institution: %v", err)
	}
	if _, err := reports.InspectionPack(ctx, db.DB, "H33010600001", "2025-13", time.Now()); err == nil || !strings.Contains(err.Error(), "YYYYQn") {
		t.Errorf("bad quarter: %v", err)
	}
	if _, err := reports.GetFile(ctx, db.DB, 7, "monthly.html"); !errors.Is(err, reports.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	runs, err := reports.List(ctx, db.DB, 0)
	if err != nil || len(runs) != 0 {
		t.Errorf("list on an empty archive: %v %v", runs, err)
	}
}
