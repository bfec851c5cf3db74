package reports_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// worldFile is a database file built once per test binary from the
// committed fixture sample: ingested, scanned, cases opened, a review panel
// seated and eight panel cases decided. Tests copy it.
var worldFile string

// reviewed are the panel cases the world decided, with their verdicts.
var reviewed = map[string]casebook.Verdict{}

func TestMain(m *testing.M) {
	if path := os.Getenv(killHelperEnv); path != "" {
		os.Exit(killHelper(path))
	}
	dir, err := os.MkdirTemp("", "reports-test-")
	if err != nil {
		panic(err)
	}
	worldFile = filepath.Join(dir, "world.duckdb")
	if err := buildWorld(context.Background(), worldFile); err != nil {
		fmt.Fprintln(os.Stderr, "build test world:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildWorld(ctx context.Context, path string) error {
	db, err := pipeline.Open(ctx, path, pipeline.DBConfig{})
	if err != nil {
		return err
	}
	defer db.Close()
	clock := time.Date(2025, 12, 31, 20, 0, 0, 0, shanghai)
	now := func() time.Time { return clock }
	cfg := pipeline.DefaultConfig()
	cfg.Now = now
	if _, err := pipeline.Ingest(ctx, db, detectortest.SampleDir(), cfg); err != nil {
		return err
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		return err
	}
	if _, err := detectors.Scan(ctx, db.DB, ds, now); err != nil {
		return err
	}
	store := casebook.NewStore(db.DB, now)
	if _, err := store.OpenCases(ctx, "system:test"); err != nil {
		return err
	}
	for i, d := range []string{"330102", "330105", "330108", "330110"} {
		e := casebook.Expert{ID: fmt.Sprintf("dr%d", i), Name: fmt.Sprintf("专家%d", i), District: contract.RegionCode(d),
			HomeOrg: contract.OrgCode(fmt.Sprintf("H%s00101", d)), WeeklyCapacity: 50,
			Specialties: []string{casebook.Internal, casebook.Surgery, casebook.Orthopedics, casebook.Obstetrics, casebook.Psychiatry, casebook.Rehab}}
		if err := store.AddExpert(ctx, "system:test", e); err != nil {
			return err
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT case_id, amount_at_risk::VARCHAR FROM cases WHERE route = 'panel' ORDER BY priority DESC, case_id LIMIT 8`)
	if err != nil {
		return err
	}
	type pc struct {
		id     string
		amount contract.Fen
	}
	var cases []pc
	for rows.Next() {
		var c pc
		var a string
		if err := rows.Scan(&c.id, &a); err != nil {
			return err
		}
		v, err := contract.ParseDecimal(a, 2)
		if err != nil {
			return err
		}
		c.amount = contract.Fen(v)
		cases = append(cases, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for i, c := range cases {
		clock = time.Date(2025, 12, 1+i, 9, 0, 0, 0, shanghai)
		if err := store.Act(ctx, c.id, "aud", casebook.RoleAuditor, casebook.ActTriage, ""); err != nil {
			return err
		}
		if err := store.SendToPanel(ctx, c.id, "aud", casebook.RoleAuditor); err != nil {
			return err
		}
		v, amount := casebook.Violation, c.amount
		if i%4 == 3 {
			v, amount = casebook.NoViolation, 0
		}
		var experts []string
		ar, err := db.QueryContext(ctx, `SELECT expert_id FROM assignments WHERE case_id = ? ORDER BY expert_id`, c.id)
		if err != nil {
			return err
		}
		for ar.Next() {
			var e string
			if err := ar.Scan(&e); err != nil {
				ar.Close()
				return err
			}
			experts = append(experts, e)
		}
		ar.Close()
		if err := ar.Err(); err != nil {
			return err
		}
		for j, e := range experts {
			clock = clock.Add(time.Duration(24*(i+j+1)) * time.Hour)
			if _, err := store.SubmitVerdict(ctx, c.id, e, v, amount, "病历不支持住院"); err != nil {
				return fmt.Errorf("verdict on %s: %w", c.id, err)
			}
		}
		reviewed[c.id] = v
	}
	return nil
}

// world opens a private copy of the test world.
func world(t testing.TB) *pipeline.DB {
	t.Helper()
	db, err := pipeline.Open(context.Background(), copyWorld(t), pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// copyWorld copies the test world to a private file and returns its path.
func copyWorld(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "world.duckdb")
	src, err := os.Open(worldFile)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runner returns a runner over db with the default schedule and detectors
// and a fixed clock.
func runner(t testing.TB, db *sql.DB, at time.Time) *reports.Runner {
	t.Helper()
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return reports.NewRunner(db, reports.DefaultConfig(), ds, func() time.Time { return at })
}

func mustFile(t testing.TB, db *sql.DB, run reports.Run, name string) []byte {
	t.Helper()
	f, err := reports.GetFile(context.Background(), db, run.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	return f.Content
}

// jobWithoutScan is the configured job without its scan (the world is
// already scanned).
func jobWithoutScan(t testing.TB, r *reports.Runner, name string) reports.Job {
	t.Helper()
	cfg := r.Config()
	j, err := cfg.Job(name)
	if err != nil {
		t.Fatal(err)
	}
	j.Scan = false
	return j
}
