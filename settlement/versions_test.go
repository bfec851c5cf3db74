package settlement_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// uniformRegion is the YAML of one region version in which every
// insurance, visit type and level has one band at ratio and an annual
// deductible of ded fen; header holds extra keys (valid_from, name).
func uniformRegion(indent, header string, ratio int, ded int64) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, indent+format+"\n", args...) }
	for _, line := range strings.Split(header, "\n") {
		if line != "" {
			p("%s", line)
		}
	}
	p("rounding: half_up")
	p("reductions: {referral: {type: points, value: 1000}, emergency: {type: points, value: 1000}, temporary: {type: points, value: 2000}, unregistered: {type: points, value: 3000}}")
	for _, ins := range []string{"employee", "resident"} {
		p("%s:", ins)
		for _, vt := range []string{"inpatient", "outpatient", "pharmacy"} {
			p("  %s:", vt)
			p("    deductible_basis: annual")
			p("    annual_cap_fen: 100000000")
			p("    levels:")
			for lv := 0; lv <= 3; lv++ {
				p("      %d: {deductible: {amount_fen: %d}, bands: [{from_fen: 0, ratio: %d}]}", lv, ded, ratio)
			}
		}
	}
	return b.String()
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(15 * time.Hour) // the time of day never matters
}

// A region with two dated versions settles each claim under the version in
// force at its date; before the first version nothing covers it (the city
// fallback is dated too), and an undated claim takes the latest version.
func TestPolicyVersions(t *testing.T) {
	src := "version: 1\nrevision: r7\nregions:\n" +
		"  \"500000\":\n" +
		"    - " + strings.TrimSpace(uniformRegion("      ", "valid_from: 2025-01-01\nvalid_to: 2025-06-30", 6000, 26700)) + "\n" +
		"    - " + strings.TrimSpace(uniformRegion("      ", "valid_from: \"2025-07-01\"", 5000, 0)) + "\n" +
		"  \"330100\":\n" + uniformRegion("    ", "valid_to: 2025-03-31", 7000, 0)
	ps, err := settlement.LoadPolicies(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.Regions(); len(got) != 2 || got[0] != "330100" || got[1] != "500000" {
		t.Fatalf("Regions = %v", got)
	}
	if in := ps.Info(); in.Revision != "r7" || in.Example || len(in.SHA256) != 64 || in.Source != "" {
		t.Errorf("Info = %+v", in)
	}
	// PolicyVersions lists each version with its period (zero: open).
	date := func(s string) time.Time { return day(s).Truncate(24 * time.Hour) }
	wantVersions := []settlement.PolicyVersion{
		{Region: "330100", To: date("2025-03-31"), Rounding: settlement.HalfUp},
		{Region: "500000", From: date("2025-01-01"), To: date("2025-06-30"), Rounding: settlement.HalfUp},
		{Region: "500000", From: date("2025-07-01"), Rounding: settlement.HalfUp},
	}
	if got := ps.PolicyVersions(); !reflect.DeepEqual(got, wantVersions) {
		t.Errorf("PolicyVersions = %+v, want %+v", got, wantVersions)
	}
	claim := func(region contract.RegionCode, date string) settlement.Claim {
		c := settlement.Claim{InsuredRegion: region, TreatmentRegion: region, InsuranceType: "resident", VisitType: "pharmacy",
			Lines: []settlement.Line{lineA(1000_00)}}
		if date != "" {
			c.Date = day(date)
		}
		return c
	}
	tests := []struct {
		name   string
		c      settlement.Claim
		fund   contract.Fen // -1: no policy
		covers bool
	}{
		{"first version", claim("500000", "2025-03-01"), (1000_00 - 267_00) * 60 / 100, true},
		{"last day of the first version", claim("500000", "2025-06-30"), (1000_00 - 267_00) * 60 / 100, true},
		{"first day of the second version", claim("500000", "2025-07-01"), 1000_00 * 50 / 100, true},
		{"county falls back to the dated province", claim("500117", "2025-08-01"), 1000_00 * 50 / 100, true},
		{"before any version", claim("500000", "2024-12-31"), -1, false},
		{"undated: latest version", claim("500000", ""), 1000_00 * 50 / 100, true},
		{"city version in force", claim("330106", "2025-03-31"), 1000_00 * 70 / 100, true},
		{"city version expired", claim("330106", "2025-04-01"), -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ps.Covers(tt.c.InsuredRegion, tt.c.Date); got != tt.covers {
				t.Errorf("Covers = %v, want %v", got, tt.covers)
			}
			r, err := ps.Settle(tt.c)
			if tt.fund < 0 {
				if !errors.Is(err, settlement.ErrNoPolicy) {
					t.Fatalf("err = %v, want ErrNoPolicy", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Fund != tt.fund {
				t.Errorf("fund = %v, want %v", r.Fund, tt.fund)
			}
		})
	}
}

// The built-in table says it holds examples, and a file loaded from disk
// records its path and hash.
func TestPolicyInfo(t *testing.T) {
	def, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	if in := def.Info(); !in.Example || !strings.Contains(in.Title, "示例") || in.Source != settlement.DefaultSource {
		t.Errorf("default Info = %+v", in)
	}
	if !strings.Contains(def.Describe(), "示例") {
		t.Error("Describe of the defaults does not say 示例")
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, settlement.DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := settlement.LoadPoliciesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if in := ps.Info(); in.Source != path || in.SHA256 != def.Info().SHA256 {
		t.Errorf("file Info = %+v, default hash %s", in, def.Info().SHA256)
	}
	if _, err := settlement.LoadPoliciesFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

// FitCell recovers the ratio and deductible a batch was settled under
// (DOMAIN §5: f = r × (s − d)) from the settled funds, with each claim's own
// registration reduction and retiree bonus, while a tenth of the
// settlements were paid on other terms.
func TestFitCell(t *testing.T) {
	load := func(ratio int, ded int64) *settlement.PolicySet {
		ps, err := settlement.LoadPolicies(strings.NewReader("version: 1\nregions:\n  \"500000\":\n" + uniformRegion("    ", "", ratio, ded)))
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	table := load(6000, 26700)
	tests := []struct {
		name      string
		ratio     int
		ded       contract.Fen
		wantRatio int
		wantDed   contract.Fen
	}{
		{"ratio 50 %, no deductible", 5000, 0, 5000, 0},
		{"ratio 55 %, deductible 200", 5500, 200_00, 5500, 200_00},
		{"the table's own terms", 6000, 267_00, 6000, 267_00},
		{"nothing paid from the pool", 0, 0, 0, 267_00}, // any deductible fits: the table's is kept
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			truth := load(tt.ratio, int64(tt.ded))
			var obs []settlement.FitObs
			for person := 0; person < 60; person++ {
				var used contract.Fen
				for visit := 0; visit < 4; visit++ {
					c := settlement.Claim{InsuredRegion: "500000", TreatmentRegion: "330106", InsuranceType: "employee",
						Retiree: person%3 == 0, VisitType: "outpatient", HospitalLevel: 2, DeductibleUsedYTD: used,
						Registration: []string{"long_term_resident", "temporary", "referral"}[person%3],
						Lines:        []settlement.Line{lineA(contract.Fen(80_00 + 37_13*((person*7+visit*13)%29)))}}
					res, err := truth.SettleQuick(c)
					if err != nil {
						t.Fatal(err)
					}
					used += res.Deductible
					terms, err := table.Terms(c)
					if err != nil {
						t.Fatal(err)
					}
					fund := res.Fund
					if (person*4+visit)%10 == 3 { // paid on other terms
						fund += 12_34
					}
					obs = append(obs, settlement.FitObs{InScope: res.InScope, Fund: fund, Tol: 1, Terms: terms, Year: fmt.Sprint(person)})
				}
			}
			f := settlement.FitCell(obs)
			if f.Ratio != tt.wantRatio || f.Deductible != tt.wantDed {
				t.Fatalf("fit %s / %v, want %s / %v (%+v)", pctOf(f.Ratio), f.Deductible, pctOf(tt.wantRatio), tt.wantDed, f)
			}
			if f.TableRatio != 6000 || f.TableDeductible != 267_00 || f.N != len(obs) {
				t.Errorf("table terms %+v", f)
			}
			// Only the perturbed tenth fails to fit.
			if f.Fits < f.N*85/100 {
				t.Errorf("fits %d of %d", f.Fits, f.N)
			}
			if tt.ratio != 6000 && tt.ratio != 0 && f.TableFits >= f.Fits/2 {
				t.Errorf("the table fits %d, the fit %d", f.TableFits, f.Fits)
			}
			if want := map[bool]string{true: "结算更符合统筹基金不支付", false: "结算更符合比例"}[tt.ratio == 0]; !strings.Contains(f.String(), want) {
				t.Errorf("String = %q", f.String())
			}
		})
	}
}

func pctOf(r int) string { return fmt.Sprintf("%d.%02d%%", r/100, r%100) }

// FitChange finds a policy revised in the middle of the year: settlements
// before 2025-07-01 fit 60 % above 267, those after 65 % above 267.
func TestFitChange(t *testing.T) {
	src := "version: 1\nregions:\n  \"500000\":\n" +
		"    - " + strings.TrimSpace(uniformRegion("      ", "valid_to: 2025-06-30", 6000, 26700)) + "\n" +
		"    - " + strings.TrimSpace(uniformRegion("      ", "valid_from: 2025-07-01", 6500, 26700)) + "\n"
	truth, err := settlement.LoadPolicies(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	table, err := settlement.LoadPolicies(strings.NewReader("version: 1\nregions:\n  \"500000\":\n" + uniformRegion("    ", "", 6000, 26700)))
	if err != nil {
		t.Fatal(err)
	}
	var obs []settlement.FitObs
	for i := 0; i < 120; i++ {
		c := settlement.Claim{InsuredRegion: "500000", TreatmentRegion: "500000", InsuranceType: "resident", VisitType: "outpatient",
			Date: day("2025-01-05").AddDate(0, 0, 3*i), Lines: []settlement.Line{lineA(contract.Fen(300_00 + 41_07*(i%17)))}}
		res, err := truth.SettleQuick(c)
		if err != nil {
			t.Fatal(err)
		}
		terms, err := table.Terms(c)
		if err != nil {
			t.Fatal(err)
		}
		obs = append(obs, settlement.FitObs{InScope: res.InScope, Fund: res.Fund, Tol: 1, Terms: terms, Date: c.Date})
	}
	if f := settlement.FitCell(obs); f.Fits == f.N {
		t.Fatalf("one set of terms fits all: %+v", f)
	}
	ch, ok := settlement.FitChange(obs)
	if !ok || !ch.From.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) || ch.Before.Ratio != 6000 || ch.After.Ratio != 6500 ||
		ch.After.Deductible != 267_00 || ch.Before.Fits+ch.After.Fits != len(obs) {
		t.Fatalf("change %+v, %v", ch, ok)
	}
	if !strings.Contains(ch.String(), "自 2025-07-01 起结算更符合比例 65%") {
		t.Errorf("String = %q", ch.String())
	}
}
