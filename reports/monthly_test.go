package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/medaudit/medaudit/reports"
)

// TestMonthlyReport runs the monthly job (scan, open cases, report) on the
// fixture world and checks the HTML and the workbook against independent
// SQL over the same database.
func TestMonthlyReport(t *testing.T) {
	db := world(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 2, 0, 0, 0, shanghai)
	run, err := runner(t, db.DB, at).RunNow(ctx, "monthly", at)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != reports.StatusDone || run.Kind != reports.MonthlyScan || !run.ScheduledFor.Equal(at) {
		t.Fatalf("run %+v", run)
	}
	var names []string
	for _, f := range run.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "inputs.json monthly-2025-12.html monthly-2025-12.xlsx" {
		t.Fatalf("files %q", got)
	}
	html := string(mustFile(t, db.DB, run, "monthly-2025-12.html"))

	// Per family: open flags and their amount at risk, each subject counted
	// once at its largest amount, by independent SQL.
	rows, err := db.Query(`WITH per AS (SELECT family, subject_type, subject_id, count(*) AS n, max(amount_at_risk) AS a
		FROM flags WHERE status = 'open' GROUP BY ALL) SELECT family, sum(n)::BIGINT::VARCHAR, sum(a)::VARCHAR FROM per GROUP BY family`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{}
	for rows.Next() {
		var fam, n, amount string
		if err := rows.Scan(&fam, &n, &amount); err != nil {
			t.Fatal(err)
		}
		want[fam] = [2]string{n, amount}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(want) < 5 {
		t.Fatalf("the world has flags of %d families", len(want))
	}
	names2 := map[string]string{"ghost_bed": "挂床住院 Ghost beds", "impersonation": "冒名住院 Impersonation", "drug_substitution": "串换药品 Drug substitution",
		"card_misuse": "违规刷卡 Card misuse", "settlement": "结算差错 Settlement errors", "other": "其他违规 Other"}
	for fam, w := range want {
		row := fmt.Sprintf(`<td>%s</td><td class="num">%s</td><td class="num">%s</td>`, names2[fam], w[0], w[1])
		if !strings.Contains(html, row) {
			t.Errorf("HTML has no summary row %s", row)
		}
	}
	for _, s := range []string{"医保基金稽核月报", "2025年12月", "疑点数量趋势", "校准告警", "检查选点排名", "重点机构", "规则精度", "案件队列", "专家评审时长", "Chart.js v4"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}

	x, err := excelize.OpenReader(bytes.NewReader(mustFile(t, db.DB, run, "monthly-2025-12.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := strings.Join(x.GetSheetList(), ","); got != "概览,趋势,疑点,案件,校准告警,检查选点,机构,规则精度,队列,审核时长,逾期案件" {
		t.Errorf("sheets %s", got)
	}
	var openFlags, cases int
	if err := db.QueryRow(`SELECT count(*) FROM flags WHERE status = 'open'`).Scan(&openFlags); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(DISTINCT case_id) FROM case_flags JOIN flags USING (flag_id) WHERE status = 'open'`).Scan(&cases); err != nil {
		t.Fatal(err)
	}
	flagRows, err := x.GetRows("疑点")
	if err != nil {
		t.Fatal(err)
	}
	if len(flagRows) != openFlags+1 || flagRows[0][0] != "疑点编号 Flag" {
		t.Errorf("flags sheet: %d rows for %d open flags, header %v", len(flagRows), openFlags, flagRows[0])
	}
	caseRows, _ := x.GetRows("案件")
	if len(caseRows) != cases+1 {
		t.Errorf("cases sheet: %d rows for %d cases", len(caseRows), cases)
	}
	// The largest flag's amount is a numeric cell with the 0.00 format.
	var top string
	if err := db.QueryRow(`SELECT amount_at_risk::VARCHAR FROM flags WHERE status = 'open' ORDER BY amount_at_risk DESC, flag_id LIMIT 1`).Scan(&top); err != nil {
		t.Fatal(err)
	}
	raw, _ := x.GetCellValue("疑点", "K2", excelize.Options{RawCellValue: true})
	typ, _ := x.GetCellType("疑点", "K2")
	shown, _ := x.GetCellValue("疑点", "K2")
	if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || shown != top || !strings.HasPrefix(top, strings.TrimRight(strings.TrimRight(raw, "0"), ".")) {
		t.Errorf("money cell K2: type %v raw %q shown %q, want numeric %s", typ, raw, shown, top)
	}
	summary, _ := x.GetRows("概览")
	for _, r := range summary[1:] {
		for fam, w := range want {
			if r[0] == names2[fam] && (r[1] != w[0] || r[2] != w[1]) {
				t.Errorf("summary sheet %v, want %v", r, w)
			}
		}
	}
	for _, sheet := range x.GetSheetList() {
		panes, err := x.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v %v", sheet, panes, err)
		}
		style, _ := x.GetCellStyle(sheet, "A1")
		st, _ := x.GetStyle(style)
		if st == nil || st.Font == nil || !st.Font.Bold {
			t.Errorf("%s: header not bold", sheet)
		}
	}
	filters := map[string]string{}
	for _, d := range x.GetDefinedName() {
		if d.Name == "_xlnm._FilterDatabase" {
			filters[d.Scope] = d.RefersTo
		}
	}
	if got := filters["疑点"]; got != fmt.Sprintf("'疑点'!$A$1:$L$%d", openFlags+1) {
		t.Errorf("flags sheet autofilter %q (all: %v)", got, filters)
	}

	var in struct {
		Job     reports.Job `json:"job"`
		Period  string      `json:"period"`
		Batches []struct {
			BatchID string `json:"batch_id"`
			Read    int64  `json:"read"`
		} `json:"batches"`
		Scan *struct {
			ScanID int64 `json:"scan_id"`
		} `json:"scan"`
		Detectors []struct {
			Name, Version string
			Thresholds    map[string]float64
		} `json:"detectors"`
		Cases *struct{ Opened, Updated int } `json:"cases_opened"`
	}
	if err := json.Unmarshal(mustFile(t, db.DB, run, "inputs.json"), &in); err != nil {
		t.Fatal(err)
	}
	var batch string
	var read, scanID int64
	if err := db.QueryRow(`SELECT batch_id FROM ingest_runs`).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT sum(read) FROM batch_ledger`).Scan(&read); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT max(scan_id) FROM scans`).Scan(&scanID); err != nil {
		t.Fatal(err)
	}
	if in.Period != "2025-12" || in.Job.Name != "monthly" || len(in.Batches) != 1 || in.Batches[0].BatchID != batch || in.Batches[0].Read != read {
		t.Errorf("inputs: period %s job %s batches %+v, want batch %s read %d", in.Period, in.Job.Name, in.Batches, batch, read)
	}
	if in.Scan == nil || in.Scan.ScanID != scanID || scanID != 2 || in.Cases == nil {
		t.Errorf("inputs: scan %+v cases %+v, want the job's own scan %d", in.Scan, in.Cases, scanID)
	}
	if len(in.Detectors) < 40 || in.Detectors[0].Version == "" || len(in.Detectors[0].Thresholds) == 0 {
		t.Errorf("inputs: detectors %+v", in.Detectors[:1])
	}
}
