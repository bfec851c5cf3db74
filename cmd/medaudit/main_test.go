package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// run executes the CLI in-process and returns its stdout.
func run(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("medaudit %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

type summary struct {
	Files []struct {
		File                                            string
		Read, Loaded, Quarantined, Unchanged, Corrected int64
	}
}

func decode(t *testing.T, s string) summary {
	t.Helper()
	var v summary
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not one JSON summary: %q", s)
	}
	return v
}

// TestMainJob runs the contract's commands end to end on generated fixtures:
// fixtures, ingest (CSV), convert to Parquet, ingest again (all unchanged),
// a batch with a broken row, and export quarantine.
func TestMainJob(t *testing.T) {
	dir := t.TempDir()
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "audit.duckdb")
	out := run(t, "fixtures", "--out", batch, "--persons", "150", "--seed", "3")
	if !strings.Contains(out, `"labels"`) || strings.Count(out, "\n") != 1 {
		t.Fatalf("fixtures summary %q", out)
	}
	labels, err := os.ReadFile(filepath.Join(batch, "labels.csv"))
	if err != nil || !strings.HasPrefix(string(labels), "family,subject_type,subject_id") {
		t.Fatalf("labels.csv: %v %q", err, labels[:min(len(labels), 60)])
	}

	first := decode(t, run(t, "ingest", "-q", "--db", db, batch))
	if len(first.Files) != 8 {
		t.Fatalf("%d files", len(first.Files))
	}
	for _, f := range first.Files {
		if f.Read == 0 || f.Loaded != f.Read {
			t.Errorf("%s: %+v", f.File, f)
		}
	}

	pq := filepath.Join(dir, "parquet")
	run(t, "convert", "--to", "parquet", batch, pq)
	for _, f := range decode(t, run(t, "ingest", "-q", "--db", db, pq)).Files {
		if !strings.HasSuffix(f.File, ".parquet") || f.Unchanged != f.Read {
			t.Errorf("re-delivery as Parquet: %+v", f)
		}
	}

	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "stock_movements.csv"), []byte("movement_id,org_code,item_code,moved_on,kind,quantity,unit_price\n"+
		"MX1,P99999900001,X,2025-01-01,purchase,1.0000,\nMX2,P99999900001,X,2025-01-01,theft,1.0000,\n"), 0o644)
	s := decode(t, run(t, "ingest", "-q", "--db", db, bad))
	if f := s.Files[0]; f.Read != 2 || f.Quarantined != 2 {
		t.Fatalf("bad batch %+v", f)
	}

	export := filepath.Join(dir, "q.csv")
	if out := run(t, "export", "quarantine", "--db", db, "--out", export); !strings.Contains(out, `"rows":2`) {
		t.Fatalf("export summary %q", out)
	}
	fh, _ := os.Open(export)
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "batch,file,line,column,reason,raw" {
		t.Fatalf("export: %v %v", err, rows)
	}
	if rows[1][2] != "2" || !strings.Contains(rows[1][4], "orphan") || rows[2][3] != "kind" {
		t.Errorf("export rows %v", rows[1:])
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"ingest"},
		{"export", "quarantine", "--db", filepath.Join(t.TempDir(), "x.duckdb"), "--out", "x.txt"},
		{"fixtures"},
		{"convert", "--to", "xlsx", "a", "b"},
	} {
		root := newRoot()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err == nil {
			t.Errorf("medaudit %v: no error", args)
		}
	}
}

// TestScanCasesAndAuditVerify: scan, open cases, verify the trail, then
// tamper with an event and see `audit verify` fail.
func TestScanCasesAndAuditVerify(t *testing.T) {
	dir := t.TempDir()
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "audit.duckdb")
	run(t, "fixtures", "--out", batch, "--persons", "400", "--seed", "5")
	run(t, "ingest", "-q", "--db", db, batch)
	if out := run(t, "scan", "--db", db); !strings.Contains(out, `"scan_id":1`) {
		t.Fatalf("scan %q", out)
	}
	flagsOut := filepath.Join(dir, "flags.csv")
	run(t, "export", "flags", "--db", db, "--out", flagsOut)
	data, _ := os.ReadFile(flagsOut)
	if !strings.HasPrefix(string(data), "flag_id,scan_id,detector,family,subject_type,subject_id,org_code,score,amount_at_risk,evidence") {
		t.Errorf("flags export header: %.120s", data)
	}
	if out := run(t, "eval", "--db", db, "--labels", filepath.Join(batch, "labels.csv")); !strings.Contains(out, `"families"`) {
		t.Errorf("eval %q", out)
	}
	var opened struct{ Opened int }
	json.Unmarshal([]byte(run(t, "cases", "open", "--db", db)), &opened)
	if opened.Opened == 0 {
		t.Fatal("no case opened")
	}
	if out := run(t, "audit", "verify", "--db", db); !strings.Contains(out, `"intact":true`) {
		t.Fatalf("verify %q", out)
	}
	d, err := pipeline.Open(context.Background(), db, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE case_events SET payload = '{"amount_at_risk":"0.01"}' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	root := newRoot()
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"audit", "verify", "--db", db})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "audit trail broken at event 1") {
		t.Errorf("tampered trail: %v", err)
	}
}

// TestDemoSchedules: the demo's report jobs parse, and one covers the demo
// auditor's district so its auditor sees a report.
func TestDemoSchedules(t *testing.T) {
	cfg, err := reports.ParseConfig([]byte(demoSchedules))
	if err != nil {
		t.Fatal(err)
	}
	district := false
	for _, j := range cfg.Jobs {
		district = district || slices.Equal(j.Districts, []string{"330106"})
	}
	if len(cfg.Jobs) != 4 || !district {
		t.Errorf("demo jobs: %+v", cfg.Jobs)
	}
}
