package detectors

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/settlement"
)

// TestRecomputeMatchesSettle: the set-based recompute (each claim settled
// from the line sums of one grouped query) gives, on every claim of the
// default and the shifted fixtures, what the step-by-step engine gives on
// the claim's lines with the same running totals: the same result, the
// same rounding steps, and the same deductible counted with the classes
// written on the lines. The fixtures hold refunds, capped persons, every
// registration kind and emergencies, points, factor and advance self-pay
// reductions, dated policy versions (the shifted profile's policy file)
// and insured regions without a policy, which are not recomputed, and
// registered claims without fee lines. Many person buckets (the claims
// stored in shard order) give what one gives (the claims read from their
// view).
func TestRecomputeMatchesSettle(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for _, profile := range fixtures.Profiles {
		t.Run("profile="+string(profile), func(t *testing.T) {
			dir := t.TempDir()
			cfg := fixtures.DefaultConfig()
			cfg.Persons, cfg.Seed, cfg.Profile = 1500, 4242, profile
			if _, err := fixtures.Generate(ctx, cfg, dir); err != nil {
				t.Fatal(err)
			}
			db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			icfg := pipeline.DefaultConfig()
			icfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
			if _, err := pipeline.Ingest(ctx, db, dir, icfg); err != nil {
				t.Fatal(err)
			}
			// Some persons insured where no policy is known: their
			// settlements are unknown, not recomputed.
			if _, err := db.ExecContext(ctx, `UPDATE settlements SET insured_region = '710101'
				WHERE person_id IN (SELECT person_id FROM persons ORDER BY person_id LIMIT 20)`); err != nil {
				t.Fatal(err)
			}
			// Some claims covered by a registration have no fee lines: they
			// keep their registration (the line sums and the registration
			// are joined on their own before the claims).
			if _, err := db.ExecContext(ctx, `DELETE FROM fee_items WHERE settlement_id IN (
				SELECT s.settlement_id FROM settlements s JOIN institutions i USING (org_code)
				SEMI JOIN registrations r ON r.person_id = s.person_id AND r.treatment_region = i.region_code
				    AND r.valid_from <= s.settled_at::DATE AND coalesce(r.valid_to, DATE '9999-12-31') >= s.admitted_at::DATE
				WHERE s.visit_type = 'outpatient' ORDER BY s.settlement_id LIMIT 30)`); err != nil {
				t.Fatal(err)
			}
			ps, err := settlement.DefaultPolicies()
			if _, statErr := os.Stat(filepath.Join(dir, "policies.yaml")); statErr == nil {
				ps, err = settlement.LoadPoliciesFile(filepath.Join(dir, "policies.yaml"))
			}
			if err != nil {
				t.Fatal(err)
			}

			run, err := openRecompute(ctx, db, ps)
			if err != nil {
				t.Fatal(err)
			}
			defer run.close()
			var claims []*recomputed
			if err := run.stream(ctx, func(r *recomputed) error {
				c := *r
				claims = append(claims, &c)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := run.loadLines(ctx, claims); err != nil {
				t.Fatal(err)
			}
			for _, r := range claims {
				want, err := ps.SettleQuick(r.Claim)
				if err != nil {
					t.Fatalf("%s: the engine rejects a claim the recompute settled: %v", r.ID, err)
				}
				if !reflect.DeepEqual(r.Res, want) {
					t.Fatalf("%s: set-based %+v, engine %+v", r.ID, r.Res, want)
				}
				steps := 3
				for _, ln := range r.Claim.Lines {
					if ln.Class == "B" {
						steps++
					}
					if ln.PriceCeiling > 0 && ln.UnitPrice > ln.PriceCeiling {
						steps++
					}
				}
				if steps != r.Steps || len(r.Mismatched) != r.sums.mismatched {
					t.Fatalf("%s: %d steps and %d mismatched lines, engine %d and %d", r.ID, r.Steps, r.sums.mismatched, steps, len(r.Mismatched))
				}
				if len(r.Mismatched) > 0 {
					w, err := ps.SettleQuick(withLines(r.Claim, r.LineClass))
					if got, err2 := countedDeductible(ps, r); err == nil && (err2 != nil || got != w.Deductible) {
						t.Fatalf("%s: deductible with the written classes %s, engine %s", r.ID, got, w.Deductible)
					}
					seen["mismatched"] = true
				}
				kind := r.RegKind
				if r.Emergency {
					kind = "emergency+" + kind
				}
				seen["kind:"+kind] = true
				if r.Res.CapHit {
					seen["cap"] = true
				}
				if r.Claim.NthAdmission > 1 {
					seen["readmission"] = true
				}
				if r.Claim.DeductibleUsedYTD > 0 {
					seen["annual deductible carried"] = true
				}
				if terms, err := ps.Terms(r.Claim); err == nil {
					seen["reduction:"+strconv.Itoa(int(terms.Reduction))] = true
				}
			}

			// Every claim not recomputed has no policy in force, or a line
			// the engine rejects.
			rows, err := run.conn.QueryContext(ctx, `SELECT claim_id, insured_region, claim_date, bad FROM recompute_claims(0, 4096)`)
			if err != nil {
				t.Fatal(err)
			}
			done := map[string]bool{}
			for _, r := range claims {
				done[r.ID] = true
			}
			all := 0
			for rows.Next() {
				var id, region string
				var date time.Time
				var bad bool
				if err := rows.Scan(&id, &region, &date, &bad); err != nil {
					t.Fatal(err)
				}
				all++
				covered := ps.Covers(contract.RegionCode(region), date)
				if done[id] != (covered && !bad) {
					t.Errorf("%s: recomputed %v, policy in force %v, bad line %v", id, done[id], covered, bad)
				}
				if !covered {
					seen["unknown region"] = true
				}
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
			if len(claims) < all/2 {
				t.Fatalf("only %d of %d claims recomputed", len(claims), all)
			}
			var refunds int
			if err := run.conn.QueryRowContext(ctx, `SELECT count(*) FROM recompute_claims(0, 4096) JOIN recompute_refunds USING (claim_id)`).Scan(&refunds); err != nil {
				t.Fatal(err)
			}
			if refunds > 0 {
				seen["refund"] = true
			}
			var bare int
			if err := run.conn.QueryRowContext(ctx, `SELECT count(*) FROM recompute_claims(0, 4096) c
				WHERE reg_kind <> '' AND NOT EXISTS (SELECT 1 FROM fee_items f WHERE f.settlement_id = c.claim_id)`).Scan(&bare); err != nil {
				t.Fatal(err)
			}
			if bare > 0 {
				seen["no lines, registered"] = true
			}

			// Many person buckets recompute the same.
			old := recomputeClaimsPerBucket
			defer func() { recomputeClaimsPerBucket = old }()
			recomputeClaimsPerBucket = all/7 + 1
			many, err := openRecompute(ctx, db, ps)
			if err != nil {
				t.Fatal(err)
			}
			defer many.close()
			if many.claims != all || many.buckets() < 7 {
				t.Fatalf("%d claims in %d buckets, counted %d", all, many.buckets(), many.claims)
			}
			i := 0
			if err := many.stream(ctx, func(r *recomputed) error {
				i++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if i != len(claims) {
				t.Fatalf("%d claims in buckets, %d in one", i, len(claims))
			}
			// A visit's error ends the stream with that error, in the
			// first of the buckets, and leaves the connection to the rest
			// of the run.
			errStop := errors.New("stop")
			i = 0
			err = many.stream(ctx, func(r *recomputed) error {
				if i++; i == 3 {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) || i != 3 {
				t.Fatalf("a visit's error: stream returned %v after %d claims", err, i)
			}
			i = 0
			if err := many.stream(ctx, func(r *recomputed) error {
				i++
				return nil
			}); err != nil || i != len(claims) {
				t.Fatalf("the stream after an error: %d claims of %d, %v", i, len(claims), err)
			}
			one := diffsByID(t, ctx, db, ps)
			recomputeClaimsPerBucket = old
			if many := diffsByID(t, ctx, db, ps); !reflect.DeepEqual(one, many) || len(one) == 0 {
				t.Fatalf("%d diffs in buckets, %d in one pass (or none)", len(many), len(one))
			}
			// The lines found by their settlement's id recompute the same
			// as by its hash.
			hashSettlementKeys = false
			byID := diffsByID(t, ctx, db, ps)
			hashSettlementKeys = true
			if !reflect.DeepEqual(one, byID) {
				t.Fatalf("%d diffs with the ids as keys, %d with their hashes", len(byID), len(one))
			}
		})
	}
	for _, want := range []string{"cap", "no lines, registered", "refund", "readmission", "annual deductible carried", "mismatched", "unknown region",
		"kind:", "kind:relocated_retiree", "kind:long_term_resident", "kind:posted_worker", "kind:referral", "kind:temporary",
		"emergency+", "reduction:" + strconv.Itoa(int(settlement.ReducePoints)),
		"reduction:" + strconv.Itoa(int(settlement.ReduceFactor)), "reduction:" + strconv.Itoa(int(settlement.ReduceAdvanceSelfPay))} {
		if !seen[want] && !seen["kind:"+want] {
			t.Errorf("the fixtures have no claim with %q: the comparison does not cover it", want)
		}
	}
}

// TestSettlementKeysFallBack: settlement_key is the hash of the settlement
// id on a scan's connections and on the recompute's own, and the id itself
// where two settlements cannot be told apart by their hashes (here, two
// rows of one id: the same hash); a connection that reads the tables again,
// or that the recompute let go, has the id.
func TestSettlementKeysFallBack(t *testing.T) {
	ctx := context.Background()
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	db := sampleDB(t)
	typeOf := func(conn *sql.Conn) string {
		t.Helper()
		var typ string
		if err := conn.QueryRowContext(ctx, `SELECT typeof(settlement_key('S1'))`).Scan(&typ); err != nil {
			t.Fatal(err)
		}
		return typ
	}
	// keys returns the key's type in a scan and in a recompute outside one.
	keys := func() (string, string) {
		t.Helper()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `ATTACH IF NOT EXISTS ':memory:' AS scan_work`); err != nil {
			t.Fatal(err)
		}
		w, err := newScanWork(ctx, conn, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.drop(ctx, conn)
		state := readTables
		if err := w.use(ctx, conn, readShared, &state); err != nil {
			t.Fatal(err)
		}
		inScan := typeOf(conn)
		if err := w.use(ctx, conn, readTables, &state); err != nil {
			t.Fatal(err)
		}
		if got := typeOf(conn); got != "VARCHAR" {
			t.Fatalf("back on the tables: the key is %s, want the id (VARCHAR)", got)
		}
		run, err := openRecompute(ctx, conn, ps)
		if err != nil {
			t.Fatal(err)
		}
		inRecompute := typeOf(run.conn)
		if err := run.close(); err != nil {
			t.Fatal(err)
		}
		if got := typeOf(conn); got != "VARCHAR" {
			t.Fatalf("after the recompute: the key is %s, want the id (VARCHAR)", got)
		}
		return inScan, inRecompute
	}
	if scan, rec := keys(); scan != "UBIGINT" || rec != "UBIGINT" {
		t.Fatalf("distinct ids: the key is %s in a scan, %s in a recompute, want their hash (UBIGINT)", scan, rec)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO settlements SELECT * FROM settlements ORDER BY settlement_id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if scan, rec := keys(); scan != "VARCHAR" || rec != "VARCHAR" {
		t.Fatalf("two settlements of one hash: the key is %s in a scan, %s in a recompute, want the id (VARCHAR)", scan, rec)
	}
}

func diffsByID(t *testing.T, ctx context.Context, db *pipeline.DB, ps *settlement.PolicySet) map[string]string {
	t.Helper()
	diffs, err := computeDiffs(ctx, db, ps)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range diffs {
		out[d.ID] = d.Res.Fund.String() + "/" + d.Res.Account.String() + "/" + strconv.Itoa(len(d.Claim.Lines))
	}
	return out
}

// TestScanStateSharesRecompute: in one scan the recompute detectors share
// one recomputation; outside a scan, and in the next scan, it is computed
// again (nothing outlives the scan).
func TestScanStateSharesRecompute(t *testing.T) {
	ctx := context.Background()
	db := sampleDB(t)
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	diffs := func(ctx context.Context) []*recomputed {
		d, err := recomputeDiffs(ctx, db, ps)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) == 0 {
			t.Fatal("the sample has no settlement that disagrees")
		}
		return d
	}
	scan := withScanState(ctx)
	a, b := diffs(scan), diffs(scan)
	if &a[0] != &b[0] {
		t.Error("two detectors of one scan recomputed twice")
	}
	if c := diffs(withScanState(ctx)); &c[0] == &a[0] {
		t.Error("the next scan reused the recompute of the last")
	}
	if c := diffs(ctx); &c[0] == &a[0] {
		t.Error("a detector outside a scan reused a scan's recompute")
	}
}

// TestRecomputeAloneOrBeside scans the sample batch as a large batch (by
// default one detector at a time; with two workers the recompute alone
// first) and as a small one (two workers, the recompute beside the other
// detectors): the flags are the same.
func TestRecomputeAloneOrBeside(t *testing.T) {
	ctx := context.Background()
	flagsWith := func(lines int64, workers int) []string {
		t.Helper()
		defer func(old int64) { largeBatchLines = old }(largeBatchLines)
		largeBatchLines = lines
		db := sampleDB(t)
		if large, err := largeBatch(ctx, db.DB); err != nil || large != (lines == 0) {
			t.Fatalf("largeBatch at %d lines: %v, %v", lines, large, err)
		}
		ds, err := Registry(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ScanWith(ctx, db.DB, ds, func() time.Time { return time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) },
			ScanOptions{Guard: DefaultGuardConfig(), Workers: workers}); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, `SELECT detector || ' ' || subject_id || ' ' || score || ' ' || amount_at_risk || ' ' || status || ' ' || evidence::VARCHAR
			FROM flags ORDER BY detector, subject_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		recompute := 0
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(s, "settlement.recompute_diff ") {
				recompute++
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if recompute == 0 {
			t.Fatal("no settlement.recompute_diff flag on the sample")
		}
		return out
	}
	beside := flagsWith(1<<62, 2)
	for _, workers := range []int{0, 2} {
		if alone := flagsWith(0, workers); !reflect.DeepEqual(alone, beside) {
			t.Errorf("flags differ: %d with a large batch and %d workers, %d with the recompute beside the others", len(alone), workers, len(beside))
		}
	}
}

// TestRefreshInParts rescans the sample batch with the flag refresh split
// into many parts: every flag of the first scan that the second raises
// again is refreshed (carries the second scan's id), none is added or
// resolved.
func TestRefreshInParts(t *testing.T) {
	ctx := context.Background()
	db := sampleDB(t)
	ds, err := Registry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) }
	first, err := Scan(ctx, db.DB, ds, now)
	if err != nil {
		t.Fatal(err)
	}
	// One stored flag's evidence is stale: the rescan rewrites it (and
	// only evidence that changed).
	var stale string
	if err := db.QueryRowContext(ctx, `UPDATE flags SET evidence = '{"stale": true}'::JSON
		WHERE flag_id = (SELECT min(flag_id) FROM flags) RETURNING flag_id`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	defer func(old int64) { refreshPartBytes = old }(refreshPartBytes)
	refreshPartBytes = 4 << 10
	second, err := Scan(ctx, db.DB, ds, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.New != 0 || second.Resolved != 0 {
		t.Errorf("rescan added %d and resolved %d flags", second.New, second.Resolved)
	}
	var open, refreshed int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE scan_id = ?) FROM flags WHERE status IN ('open', 'suppressed')`,
		second.ScanID).Scan(&open, &refreshed); err != nil {
		t.Fatal(err)
	}
	if open != first.New || refreshed != open {
		t.Errorf("%d flags from the first scan, %d open after the rescan, %d of them refreshed", first.New, open, refreshed)
	}
	var evidence string
	if err := db.QueryRowContext(ctx, `SELECT evidence::VARCHAR FROM flags WHERE flag_id = ?`, stale).Scan(&evidence); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(evidence, "stale") || !strings.Contains(evidence, `"rule":`) {
		t.Errorf("flag %s kept its stale evidence after the rescan: %s", stale, evidence)
	}
}

// memDB is an empty in-memory database with the schema, closed when the
// test ends.
func memDB(t *testing.T) *pipeline.DB {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sampleDB is an in-memory database holding the sample batch, closed when
// the test ends.
func sampleDB(t *testing.T) *pipeline.DB {
	t.Helper()
	ctx := context.Background()
	db := memDB(t)
	cfg := pipeline.DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if _, err := pipeline.Ingest(ctx, db, filepath.Join("..", "fixtures", "testdata", "sample"), cfg); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestScanStateReleasesRecompute checks that a scan holds the recompute's
// result only until the last detector that reads it has it: each reader
// gets the same result, computed once, and the state holds none after.
func TestScanStateReleasesRecompute(t *testing.T) {
	db := sampleDB(t)
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	ctx := withScanState(context.Background())
	st := scanStateOf(ctx)
	st.expectRecomputeUsers(2)
	first, err := recomputeDiffs(ctx, db.DB, ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("the sample batch has no claim that disagrees with its recompute")
	}
	if len(st.recomputes) != 1 {
		t.Fatalf("after the first of two readers the state holds %d results, want 1", len(st.recomputes))
	}
	second, err := recomputeDiffs(ctx, db.DB, ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != len(first) || second[0] != first[0] {
		t.Errorf("the second reader got another result (%d claims) than the first (%d)", len(second), len(first))
	}
	if len(st.recomputes) != 0 {
		t.Errorf("after the last reader the state still holds %d results", len(st.recomputes))
	}
}

// TestRecomputeChecksOnEveryCore: the recompute checks run on several
// goroutines (DetectEach) give the flags one goroutine gives, evidence and
// all, and Detect returns them by subject. One scan's state is shared by
// the checks, as in a scan, so that they also run on the same claims.
func TestRecomputeChecksOnEveryCore(t *testing.T) {
	db := sampleDB(t)
	ds, err := Registry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	detect := func(procs int) map[string][]Flag {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		ctx := withScanState(context.Background())
		out := map[string][]Flag{}
		for _, d := range ds {
			if _, ok := d.(*recomputeDetector); !ok {
				continue
			}
			flags, err := d.Detect(ctx, db.DB)
			if err != nil {
				t.Fatal(err)
			}
			if !sort.SliceIsSorted(flags, func(i, j int) bool { return flags[i].SubjectID < flags[j].SubjectID }) {
				t.Errorf("%s with %d goroutines: flags not by subject", d.Name(), procs)
			}
			out[d.Name()] = flags
		}
		return out
	}
	one, many := detect(1), detect(4)
	if n := len(one["settlement.recompute_diff"]); n < 2 {
		t.Fatalf("the sample batch gives %d recompute_diff flags, want several", n)
	}
	if len(one) != 5 {
		t.Fatalf("%d recompute checks registered, want 5", len(one))
	}
	for name, want := range one {
		if !reflect.DeepEqual(many[name], want) {
			t.Errorf("%s: %d flags on 4 goroutines, %d on one (or other evidence)", name, len(many[name]), len(want))
		}
	}
}

// TestRecomputeNames: a claim's strings with few values are copies the
// stream holds, one per value, never the Arrow batch's memory (released
// with the batch), and the held copies stop at maxNames.
func TestRecomputeNames(t *testing.T) {
	var s recomputeState
	buf := []byte("H33010600011")
	view := unsafe.String(&buf[0], len(buf)) // as array.String.Value returns it
	a := s.name(view)
	if unsafe.StringData(a) == &buf[0] {
		t.Fatal("name returned the batch's memory")
	}
	buf[0] = 'X' // the batch's memory is reused
	if a != "H33010600011" || s.name("H33010600011") != a || unsafe.StringData(s.name("H33010600011")) != unsafe.StringData(a) {
		t.Fatalf("held copy %q: one copy per value", a)
	}
	for i := range maxNames + 10 {
		v := "R" + strconv.Itoa(i)
		if got := s.name(v); got != v {
			t.Fatalf("name(%q) = %q", v, got)
		}
	}
	if len(s.names) != maxNames {
		t.Fatalf("%d held names, want at most %d", len(s.names), maxNames)
	}
}
