package settlement_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// TestBadPolicies loads every testdata/bad/*.yaml file and checks that each
// of its "# want: …" lines matches a distinct reported error, and that no
// other error is reported: a bad file reports all its problems at once.
func TestBadPolicies(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for line := range strings.SplitSeq(string(src), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("file has no # want: lines")
			}
			ps, err := settlement.LoadPolicies(strings.NewReader(string(src)))
			if err == nil || ps != nil {
				t.Fatalf("LoadPolicies = %v, %v; want an error", ps, err)
			}
			var got []string
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					got = append(got, e.Error())
					var fe *settlement.FieldError
					if !errors.As(e, &fe) {
						t.Errorf("%q is not a *FieldError", e)
					}
				}
			} else {
				got = []string{err.Error()}
			}
			used := make([]bool, len(got))
		next:
			for _, w := range wants {
				for i, g := range got {
					if !used[i] && strings.Contains(g, w) {
						used[i] = true
						continue next
					}
				}
				t.Errorf("missing error %q", w)
			}
			for i, g := range got {
				if !used[i] {
					t.Errorf("unexpected error %q", g)
				}
			}
		})
	}
}

func TestDefaultPolicies(t *testing.T) {
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	// The insured regions the fixtures use must have their own policy.
	fixtures := []contract.RegionCode{"611002", "620102", "330106", "330302", "440304", "510104", "500117", "110105", "310104", "420102"}
	have := map[contract.RegionCode]bool{}
	for _, r := range ps.Regions() {
		have[r] = true
	}
	for _, r := range fixtures {
		if !have[r] {
			t.Errorf("no default policy for %s", r)
		}
	}
	// Every region settles every insurance × retiree × visit × level ×
	// registration combination, local and cross-province.
	kinds := append([]string{""}, contract.RegistrationKind...)
	for _, region := range ps.Regions() {
		for _, ins := range contract.InsuranceTypes {
			for _, vt := range contract.VisitTypes {
				for lv := 0; lv <= 3; lv++ {
					for _, k := range kinds {
						for _, treat := range []contract.RegionCode{region, "650102"} {
							c := settlement.Claim{InsuredRegion: region, TreatmentRegion: treat, InsuranceType: ins,
								Retiree: ins == "employee", VisitType: vt, HospitalLevel: lv, Registration: k,
								NthAdmission: 2, AccountBalance: 1_000_00,
								Lines: []settlement.Line{lineA(5_000_00), lineB(3_000_00, 1000), lineC(500_00)}}
							r, err := ps.Settle(c)
							if err != nil {
								t.Fatalf("%s %s %s %d %q: %v", region, ins, vt, lv, k, err)
							}
							if r.Fund <= 0 && !(treat != region && k == "") {
								t.Errorf("%s %s %s %d %q → %s: fund %v", region, ins, vt, lv, k, treat, r.Fund)
							}
						}
					}
				}
			}
		}
	}
}

// The policy shapes the task requires: one factor region, one advance
// self-pay region; and reductions that make cross-region care cheaper for the
// fund than local care.
func TestDefaultPoliciesShapes(t *testing.T) {
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	base := settlement.Claim{TreatmentRegion: "650102", InsuranceType: "employee", VisitType: "inpatient",
		HospitalLevel: 3, NthAdmission: 1, Registration: "temporary", Lines: []settlement.Line{lineA(20_000_00)}}
	for _, tt := range []struct {
		region contract.RegionCode
		check  func(local, temp settlement.Result) bool
		what   string
	}{
		{"510104", func(l, t settlement.Result) bool { return t.Ratio*10000 == l.Ratio*8000 }, "temporary is a factor of 0.8"},
		{"330302", func(l, t settlement.Result) bool { return t.PreSelfPay == 2_000_00 && t.Ratio == l.Ratio }, "temporary is a 10 % advance self-pay"},
		{"611002", func(l, t settlement.Result) bool { return l.Ratio-t.Ratio == 1500 }, "temporary is −15 points"},
	} {
		c := base
		c.InsuredRegion = tt.region
		temp, err := ps.Settle(c)
		if err != nil {
			t.Fatal(err)
		}
		c.TreatmentRegion = tt.region
		local, err := ps.Settle(c)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.check(local, temp) {
			t.Errorf("%s: want %s; local %+v, temporary %+v", tt.region, tt.what, local, temp)
		}
	}
}

func TestLoadPoliciesReadError(t *testing.T) {
	if _, err := settlement.LoadPolicies(errReader{}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
