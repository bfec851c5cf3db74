package detectors_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
	"github.com/medaudit/medaudit/settlement"
)

// policySubset loads the built-in example policies restricted to the
// regions in keep, as a table that is not marked example; a region's value
// in keep, when not "", is its valid_to.
func policySubset(t *testing.T, keep map[string]string) *settlement.PolicySet {
	t.Helper()
	var root yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(settlement.DefaultYAML(), &root, yaml.UseOrderedMap()); err != nil {
		t.Fatal(err)
	}
	for i, it := range root {
		if it.Key == "example" {
			root[i].Value = false
		}
		if it.Key != "regions" {
			continue
		}
		var regions yaml.MapSlice
		for _, r := range it.Value.(yaml.MapSlice) {
			validTo, ok := keep[fmt.Sprint(r.Key)]
			if !ok {
				continue
			}
			if validTo != "" {
				r.Value = append(r.Value.(yaml.MapSlice), yaml.MapItem{Key: "valid_to", Value: validTo})
			}
			regions = append(regions, r)
		}
		root[i].Value = regions
	}
	src, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := settlement.LoadPolicies(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// A settlement whose insured region has no policy in force at its date is
// unknown: the recompute does not flag it, however far its fund is from any
// table, and the scan counts it in the policy coverage it records.
func TestPolicyCoverageUnknownRegions(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		keep    map[string]string // nil: the built-in examples
		flagged bool              // S001 (611002, 2025) is flagged
		covered int               // of the batch's 2 settlements
		unknown string
	}{
		{"built-in examples cover both", nil, true, 2, ""},
		{"611002 has no policy", map[string]string{"620102": ""}, false, 1, "611002"},
		{"611002's policy expired before the stay", map[string]string{"611002": "2024-12-31", "620102": ""}, false, 1, "611002"},
		{"611002's policy in force on the settlement day", map[string]string{"611002": "2025-12-31", "620102": ""}, true, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pipelinetest.Valid()
			r := seHonest(t, b)
			seAmounts(b, 0, r.Total, r.Fund+5000, r.Account, r.Cash-5000) // 50 yuan too much from the fund
			db := pipelinetest.Load(t, b)
			var ps *settlement.PolicySet
			if tt.keep != nil {
				ps = policySubset(t, tt.keep)
			}
			ds, err := detectors.Registry(detectors.Config{Policies: ps})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := detectors.Scan(ctx, db.DB, detectors.Select(ds, []string{"settlement.recompute_diff"}), now)
			if err != nil {
				t.Fatal(err)
			}
			if got := sum.Flags["settlement"] == 1; got != tt.flagged {
				t.Errorf("S001 flagged = %v, want %v (%+v)", got, tt.flagged, sum)
			}
			if tt.flagged { // the evidence names the table and the policy used
				var ev string
				if err := db.QueryRow(`SELECT evidence::VARCHAR FROM flags WHERE subject_id = 'S001'`).Scan(&ev); err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf(`"example":%v`, tt.keep == nil); !strings.Contains(ev, `"policy_region":"611002"`) || !strings.Contains(ev, want) {
					t.Errorf("evidence %s lacks the policy (%s)", ev, want)
				}
			}
			cov := sum.Policy
			if cov == nil {
				t.Fatal("the scan summary has no policy coverage")
			}
			if cov.Settlements != 2 || cov.Covered != tt.covered {
				t.Errorf("coverage %d/%d, want %d/2", cov.Covered, cov.Settlements, tt.covered)
			}
			if tt.unknown != "" {
				if len(cov.Unknown) != 1 || cov.Unknown[0].Region != tt.unknown || cov.Unknown[0].Settlements != 1 ||
					!strings.Contains(cov.Text, "政策覆盖率：50.0% 的结算") || !strings.Contains(cov.Text, tt.unknown+" 无政策") {
					t.Errorf("coverage %+v", cov)
				}
			} else if len(cov.Unknown) != 0 || !strings.HasPrefix(cov.Text, "政策覆盖率：100.0% 的结算") {
				t.Errorf("coverage %+v", cov)
			}
			if example := tt.keep == nil; cov.Policies.Example != example || strings.Contains(cov.Text, "示例") != example {
				t.Errorf("example label: %+v", cov)
			}
			stored, err := detectors.ScanPolicy(ctx, db.DB, sum.ScanID)
			if err != nil || stored == nil || stored.Policies.SHA256 != cov.Policies.SHA256 || stored.Covered != cov.Covered || stored.Text != cov.Text {
				t.Errorf("stored policy of the scan %+v, %v", stored, err)
			}
		})
	}
}

// shiftedBatch generates and loads a shifted-profile fixture batch: some
// regions' settlements follow other ratios and deductibles than the
// built-in table, and the batch's own table is in DIR/policies.yaml.
func shiftedBatch(t *testing.T) (*pipeline.DB, *settlement.PolicySet) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := fixtures.DefaultConfig()
	cfg.Persons, cfg.Seed, cfg.Profile = 600, 31, fixtures.ProfileShifted
	if _, err := fixtures.Generate(ctx, cfg, dir); err != nil {
		t.Fatal(err)
	}
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	icfg := pipeline.DefaultConfig()
	icfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if _, err := pipeline.Ingest(ctx, db, dir, icfg); err != nil {
		t.Fatal(err)
	}
	ps, err := settlement.LoadPoliciesFile(filepath.Join(dir, fixtures.PoliciesFile))
	if err != nil {
		t.Fatal(err)
	}
	return db, ps
}

// On a batch settled under other terms than the table for 420102
// employees' pharmacy purchases (60 % above a 300-yuan deductible instead
// of 50 % above 700), the policy check fits those terms from the settled
// funds, and scanning with the batch's own table leaves no recompute flag
// in that cell, while the built-in table flags a large share of it.
func TestPolicyCheckFitsShiftedBatch(t *testing.T) {
	ctx := context.Background()
	db, shifted := shiftedBatch(t)
	def, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	cells, err := detectors.PolicyCheck(ctx, db.DB, def)
	if err != nil {
		t.Fatal(err)
	}
	var cell *detectors.PolicyCell
	for i, c := range cells {
		if c.Region == "420102" && c.Insurance == "employee" && c.VisitType == "pharmacy" && c.Level == 0 {
			cell = &cells[i]
		}
	}
	if cell == nil {
		t.Fatalf("no disagreeing cell for 420102 employee pharmacy in %+v", cells)
	}
	f := cell.Fit
	if f.Ratio != 6000 || f.Deductible != 300_00 || f.TableRatio != 5000 || f.TableDeductible != 700_00 {
		t.Errorf("fit %+v", f)
	}
	if f.Fits < f.N*9/10 || f.Fits <= f.TableFits || !strings.Contains(cell.Suggestion, "420102 职工 购药") ||
		!strings.Contains(cell.Suggestion, "比例 60%、起付线 300.00") {
		t.Errorf("cell %+v", cell)
	}

	inCell := func(ps *settlement.PolicySet) (flagged, settlements int) {
		ds, err := detectors.Registry(detectors.Config{Policies: ps})
		if err != nil {
			t.Fatal(err)
		}
		found, err := detectors.Select(ds, []string{"settlement.recompute_diff"})[0].Detect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		flags := map[string]bool{}
		for _, f := range found {
			flags[f.SubjectID] = true
		}
		rows, err := db.Query(`SELECT s.settlement_id FROM settlements s JOIN persons p USING (person_id)
			WHERE s.insured_region = '420102' AND p.insurance_type = 'employee' AND s.visit_type = 'pharmacy'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			settlements++
			if flags[id] {
				flagged++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return flagged, settlements
	}
	builtin, n := inCell(def)
	own, _ := inCell(shifted)
	if own != 0 || builtin < n/5 {
		t.Errorf("recompute flags among %d settlements of the cell: %d with the built-in table, %d with the batch's own", n, builtin, own)
	}
	cells, err = detectors.PolicyCheck(ctx, db.DB, shifted)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.Suggestion != "" {
			t.Errorf("the batch's own table gets a suggestion: %+v", c)
		}
	}
}
