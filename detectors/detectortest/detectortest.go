// Package detectortest is the conformance suite every detector passes
// (upspin's packtest, in spirit): deterministic output, context
// cancellation honoured, no flags on empty data, well-formed evidence.
// It also loads the committed fixture sample into DuckDB for tests.
package detectortest

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
)

var (
	sampleOnce sync.Once
	sampleDB   *pipeline.DB
	sampleErr  error
)

// SampleDir is the committed fixture batch (fixtures/testdata/sample).
func SampleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "testdata", "sample")
}

// Sample returns an in-memory database with the committed fixture sample
// loaded, shared by the tests of one binary: callers must not write to it.
func Sample(t testing.TB) *pipeline.DB {
	t.Helper()
	sampleOnce.Do(func() {
		ctx := context.Background()
		sampleDB, sampleErr = pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
		if sampleErr != nil {
			return
		}
		cfg := pipeline.DefaultConfig()
		cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
		_, sampleErr = pipeline.Ingest(ctx, sampleDB, SampleDir(), cfg)
	})
	if sampleErr != nil {
		t.Fatalf("load fixture sample: %v", sampleErr)
	}
	return sampleDB
}

// Empty returns a fresh, migrated, empty in-memory database.
func Empty(t testing.TB) *pipeline.DB {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var namePattern = regexp.MustCompile(`^[a-z_]+\.[a-z_0-9]+$`)

// Run checks d against the detector contract, using db as the data with
// flags (e.g. Sample) and a fresh empty database.
func Run(t *testing.T, d detectors.Detector, db *pipeline.DB) {
	t.Helper()
	ctx := context.Background()
	t.Run("describe", func(t *testing.T) {
		desc, ok := d.(detectors.Describer)
		if !ok {
			t.Fatal("detector does not implement Describer")
		}
		info := desc.Describe()
		if info.Name != d.Name() || !namePattern.MatchString(d.Name()) || info.Title == "" || info.Family == "" || info.SubjectType == "" {
			t.Errorf("bad description %+v", info)
		}
		if info.Override != detectors.Absolute && info.Override != detectors.Clinical {
			t.Errorf("override class %q", info.Override)
		}
		if len(d.Name()) <= len(info.Family) || d.Name()[:len(info.Family)] != info.Family {
			t.Errorf("name %s is not in family %s", d.Name(), info.Family)
		}
	})
	t.Run("empty data gives no flags", func(t *testing.T) {
		flags, err := d.Detect(ctx, Empty(t))
		if err != nil || len(flags) != 0 {
			t.Errorf("flags %d, err %v", len(flags), err)
		}
	})
	t.Run("deterministic and well formed", func(t *testing.T) {
		a, err := d.Detect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Detect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sortFlags(a)
		sortFlags(b)
		if !reflect.DeepEqual(a, b) {
			t.Error("two runs over the same data differ")
		}
		info := d.(detectors.Describer).Describe()
		seen := map[string]bool{}
		for _, f := range a {
			if err := f.Validate(); err != nil {
				t.Error(err)
			}
			if f.Detector != d.Name() || f.Family != info.Family || f.SubjectType != info.SubjectType {
				t.Errorf("flag %s/%s/%s does not match the description", f.Detector, f.Family, f.SubjectType)
			}
			if seen[f.SubjectID] {
				t.Errorf("subject %s flagged twice", f.SubjectID)
			}
			seen[f.SubjectID] = true
		}
	})
	t.Run("honours cancellation", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := d.Detect(cctx, db); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func sortFlags(fs []detectors.Flag) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].SubjectID < fs[j].SubjectID })
}

// Detect runs the registered detector name (with optional threshold
// overrides) over db and returns its flags by subject.
func Detect(t testing.TB, db detectors.Querier, name string, params map[string]float64) map[string]detectors.Flag {
	t.Helper()
	cfg := detectors.Config{}
	if params != nil {
		cfg.Params = map[string]map[string]float64{name: params}
	}
	ds, err := detectors.Registry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var d detectors.Detector
	for _, x := range ds {
		if x.Name() == name {
			d = x
		}
	}
	if d == nil {
		t.Fatalf("detector %s is not registered", name)
	}
	flags, err := d.Detect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]detectors.Flag{}
	for _, f := range flags {
		out[f.SubjectID] = f
	}
	return out
}
