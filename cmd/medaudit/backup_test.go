package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

// casebookDB builds, once per test binary, a database with a batch, a scan,
// open cases and a trail, and returns a fresh copy of it for each caller.
var casebookDB = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "medaudit-casebook-")
	if err != nil {
		return "", err
	}
	casebookTemp = dir
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "audit.duckdb")
	for _, args := range [][]string{
		{"fixtures", "--out", batch, "--persons", "300", "--seed", "5"},
		{"ingest", "-q", "--db", db, batch},
		{"scan", "--db", db},
		{"cases", "open", "--db", db},
	} {
		if err := runErr(args...); err != nil {
			return "", err
		}
	}
	return db, nil
})

// casebookTemp is the folder of casebookDB, removed by TestMain.
var casebookTemp string

func copyOfCasebookDB(t *testing.T) string {
	t.Helper()
	src, err := casebookDB()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "audit.duckdb")
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// execSQL runs statements on a database file, as someone with file access
// (not the service) would.
func execSQL(t *testing.T, db string, stmts ...string) {
	t.Helper()
	d, err := pipeline.Open(context.Background(), db, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, s := range stmts {
		if _, err := d.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestAuditVerifyDetectsTampering: an edited payload, a deleted event and
// two swapped sequence numbers each make `audit verify` fail naming the
// first event that does not verify.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"edit payload", `UPDATE case_events SET payload = '{"amount_at_risk":"0.01"}' WHERE seq = 7`, "audit trail broken at event 7: its content does not match its hash"},
		{"delete", `DELETE FROM case_events WHERE seq = 5`, "audit trail broken at event 5: found event 6 where event 5 belongs"},
		{"delete tail", `DELETE FROM case_events WHERE seq = (SELECT max(seq) FROM case_events)`, "(tail deleted)"},
		{"reorder", `UPDATE case_events SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE seq IN (3, 4)`, "audit trail broken at event 3"},
		{"rewrite the chain from an edit on", `UPDATE case_events SET actor = 'mallory', hash = 'x' WHERE seq = 2`, "audit trail broken at event 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := copyOfCasebookDB(t)
			if out := run(t, "audit", "verify", "--db", db); !strings.Contains(out, `"intact":true`) {
				t.Fatalf("before tampering: %q", out)
			}
			execSQL(t, db, tc.sql)
			err := runErr("audit", "verify", "--db", db)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("audit verify after %s: %v, want %q", tc.name, err, tc.want)
			}
			if err := runErr("check", "--db", db); err == nil || !strings.Contains(err.Error(), "audit trail broken") {
				t.Errorf("check after %s: %v", tc.name, err)
			}
		})
	}
}

// TestCheckFindsHalfWrittenState: each invariant `check` promises fails on
// a database where it was broken by hand, and holds on a sound one.
func TestCheckFindsHalfWrittenState(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"rows of an uncommitted run", `UPDATE persons SET run_id = 99 WHERE rowid < 3`, "rows_outside_committed_batches.persons: 3"},
		{"quarantine of an unknown batch", `INSERT INTO quarantine VALUES ('b-none', 'x.csv', 2, NULL, 'r', '', now())`, "rows_outside_committed_batches.quarantine: 1"},
		{"unbalanced ledger", `UPDATE batch_ledger SET loaded = loaded - 1 WHERE file = 'persons.csv'`, "ledger_unbalanced: 1"},
		{"flags of a running scan", `UPDATE scans SET status = 'running'`, "flags_of_unfinished_scans"},
		{"case state without its event", `UPDATE cases SET state = 'closed' WHERE case_id = (SELECT min(case_id) FROM cases)`, "case_states_not_in_trail: 1"},
		{"verdict without its event", `INSERT INTO assignments VALUES ((SELECT min(case_id) FROM cases), 'dr99', 1, now(), now(), now(), 'violation', 1.00, '')`, "verdicts_without_event: 1"},
	}
	db := copyOfCasebookDB(t)
	var sound integrity
	if err := json.Unmarshal([]byte(run(t, "check", "--db", db)), &sound); err != nil || sound.err() != nil || sound.Runs != 1 || sound.RowsRead == 0 {
		t.Fatalf("sound database: %v %+v", err, sound)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := copyOfCasebookDB(t)
			execSQL(t, db, tc.sql)
			if err := runErr("check", "--db", db); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBackupRestore: backup, restore to a new file and verify; the restored
// database equals the source table by table and its trail verifies.
// Restoring over a file needs --force; a damaged backup file or manifest is
// refused and leaves the target as it was.
func TestBackupRestore(t *testing.T) {
	db := copyOfCasebookDB(t)
	dir := t.TempDir()
	bk := filepath.Join(dir, "backup")
	var b struct {
		Rows   int64
		Events int64
		Trail  string
	}
	json.Unmarshal([]byte(run(t, "backup", "--db", db, "--out", bk)), &b)
	if b.Rows == 0 || b.Events == 0 || b.Trail != "intact" {
		t.Fatalf("backup summary %+v", b)
	}
	if err := runErr("backup", "--db", db, "--out", bk); err == nil || !strings.Contains(err.Error(), "already holds a backup") {
		t.Errorf("second backup into the same folder: %v", err)
	}

	target := filepath.Join(dir, "restored.duckdb")
	var r struct {
		Verified bool
		Rows     int64
		Events   int64
	}
	json.Unmarshal([]byte(run(t, "restore", "--from", bk, "--db", target)), &r)
	if !r.Verified || r.Rows != b.Rows || r.Events != b.Events {
		t.Fatalf("restore summary %+v, backup %+v", r, b)
	}
	if out := run(t, "audit", "verify", "--db", target); !strings.Contains(out, `"intact":true`) {
		t.Errorf("restored trail: %q", out)
	}
	sums := func(path string) []tableSum {
		d, err := pipeline.Open(context.Background(), path, pipeline.DBConfig{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		conn, _ := d.Conn(context.Background())
		defer conn.Close()
		s, err := tableSums(context.Background(), conn, strings.TrimSuffix(filepath.Base(path), ".duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if d := compareSums(sums(db), sums(target)); len(d) > 0 {
		t.Errorf("restored differs from source: %s", describeDiffs(d))
	}

	if err := runErr("restore", "--from", bk, "--db", target); err == nil || !strings.Contains(err.Error(), "without --force") {
		t.Errorf("restore over an existing file: %v", err)
	}
	// A stale write-ahead log of the replaced file must not reach the
	// restored one.
	os.WriteFile(target+".wal", []byte("stale"), 0o644)
	run(t, "restore", "--from", bk, "--db", target, "--force")
	if _, err := os.Stat(target + ".wal"); !os.IsNotExist(err) {
		t.Errorf("stale WAL kept: %v", err)
	}
	run(t, "audit", "verify", "--db", target)

	t.Run("damaged file", func(t *testing.T) {
		damaged := filepath.Join(t.TempDir(), "bk")
		os.MkdirAll(damaged, 0o755)
		copyFile(filepath.Join(bk, backupManifest), filepath.Join(damaged, backupManifest))
		data, _ := os.ReadFile(filepath.Join(bk, backupFile))
		data[len(data)/2] ^= 0xff
		os.WriteFile(filepath.Join(damaged, backupFile), data, 0o644)
		fresh := filepath.Join(t.TempDir(), "x.duckdb")
		if err := runErr("restore", "--from", damaged, "--db", fresh); err == nil || !strings.Contains(err.Error(), "is damaged") {
			t.Errorf("damaged backup: %v", err)
		}
		if _, err := os.Stat(fresh); !os.IsNotExist(err) {
			t.Errorf("a refused restore left %s: %v", fresh, err)
		}
	})
	t.Run("manifest disagrees", func(t *testing.T) {
		var m manifest
		body, _ := os.ReadFile(filepath.Join(bk, backupManifest))
		json.Unmarshal(body, &m)
		for i := range m.Tables {
			if m.Tables[i].Name == "main.case_events" {
				m.Tables[i].Rows++
			}
		}
		bad := filepath.Join(t.TempDir(), "bk")
		os.MkdirAll(bad, 0o755)
		copyFile(filepath.Join(bk, backupFile), filepath.Join(bad, backupFile))
		body, _ = json.Marshal(m)
		os.WriteFile(filepath.Join(bad, backupManifest), body, 0o644)
		before, _ := os.ReadFile(target)
		err := runErr("restore", "--from", bad, "--db", target, "--force")
		if err == nil || !strings.Contains(err.Error(), "table main.case_events") {
			t.Errorf("manifest with a wrong count: %v", err)
		}
		if after, _ := os.ReadFile(target); string(after) != string(before) {
			t.Error("a failed verification changed the target")
		}
	})
}
