package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// TestDemoReportsFollowTheData: the demo's first reports cover the months
// its data is about — the monthly report counts flags in its period and
// its trend has a bar for every month of activity; the quarterly pack has
// one inspection file per hospital of the district with settlements in the
// quarter.
func TestDemoReportsFollowTheData(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.duckdb")
	run(t, "demo", "--db", db, "--dir", filepath.Join(dir, "batch"), "--persons", "400", "--no-serve")
	ctx := context.Background()
	d, err := pipeline.Open(ctx, db, pipeline.DBConfig{Threads: 1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	runs, err := reports.List(ctx, d.DB, 100)
	if err != nil {
		t.Fatal(err)
	}
	byJob := map[string]reports.Run{}
	for _, r := range runs {
		if r.Status != "done" {
			t.Errorf("report %s: %s %s", r.Job, r.Status, r.Error)
		}
		byJob[r.Job] = r
	}
	monthly, ok := byJob["monthly"]
	if !ok {
		t.Fatalf("no monthly report among %d runs", len(runs))
	}
	var lastMonth string
	if err := d.QueryRow(`SELECT strftime(max(settled_at), '%Y-%m') FROM settlements`).Scan(&lastMonth); err != nil {
		t.Fatal(err)
	}
	book := workbookOf(t, d, monthly, ".xlsx")
	overview, err := book.GetRows("概览")
	if err != nil {
		t.Fatal(err)
	}
	total := overview[len(overview)-1]
	if in, _ := strconv.Atoi(total[len(total)-1]); total[0] != "合计 Total" || in == 0 {
		t.Errorf("the first monthly report (%s) counts %v in its period", lastMonth, total)
	}
	trend, err := book.GetRows("趋势")
	if err != nil {
		t.Fatal(err)
	}
	months := map[string]bool{}
	for _, r := range trend[1:] {
		months[r[0]] = true
	}
	if len(months) < 6 || !months[lastMonth] {
		t.Errorf("the trend has bars for %d months (%v), want the data's months up to %s", len(months), months, lastMonth)
	}
	quarterly, ok := byJob["quarterly"]
	if !ok {
		t.Fatal("no quarterly inspection run")
	}
	var hospitals []string
	rows, err := d.Query(`SELECT DISTINCT i.org_code FROM institutions i JOIN settlements s USING (org_code)
		WHERE i.kind = 'hospital' AND i.region_code = '330106' AND s.settled_at >= date_trunc('quarter', (SELECT max(settled_at) FROM settlements))
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		hospitals = append(hospitals, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	var packs []string
	for _, f := range quarterly.Files {
		if strings.HasSuffix(f.Name, ".html") {
			packs = append(packs, f.Name)
		}
	}
	if len(hospitals) == 0 || len(packs) != len(hospitals) {
		t.Fatalf("%d inspection packs for %d hospitals: %v", len(packs), len(hospitals), packs)
	}
	for _, h := range hospitals {
		found := false
		for _, p := range packs {
			found = found || strings.Contains(p, h)
		}
		if !found {
			t.Errorf("no inspection pack for hospital %s in %v", h, packs)
		}
	}
	t.Logf("first monthly report: %s in period; trend over %d months; quarterly: %d packs", total[len(total)-1], len(months), len(packs))
}

func workbookOf(t *testing.T, d *pipeline.DB, r reports.Run, suffix string) *excelize.File {
	t.Helper()
	for _, fi := range r.Files {
		if strings.HasSuffix(fi.Name, suffix) {
			f, err := reports.GetFile(context.Background(), d.DB, r.ID, fi.Name)
			if err != nil {
				t.Fatal(err)
			}
			book, err := excelize.OpenReader(bytes.NewReader(f.Content))
			if err != nil {
				t.Fatal(err)
			}
			return book
		}
	}
	t.Fatalf("report %s has no %s file", r.Job, suffix)
	return nil
}
