package settlement_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current results")

// exampleA is DOMAIN §5.6: a 商洛 resident, first admission, treated in a
// Hangzhou tier-3 hospital; 20,000.00 of charges of which 1,200.00 class C,
// 300.00 over the price ceiling and 6,000.00 class B at 10 %.
func exampleA(kind string) settlement.Claim {
	return settlement.Claim{
		InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "resident",
		VisitType: "inpatient", HospitalLevel: 3, Registration: kind, NthAdmission: 1,
		Lines: []settlement.Line{
			lineA(11_900_00),
			lineC(1_200_00),
			{Class: "A", Quantity: 1_0000, UnitPrice: 900_0000, PriceCeiling: 600_0000, Amount: 900_00},
			lineB(6_000_00, 1000),
		},
	}
}

// exampleB is DOMAIN §5.7: a relocated 商洛 employee retiree, second
// admission, tier 3; 50,000.00 of which 2,000.00 class C and 20,000.00 class
// B at 10 %; account balance 3,000.00.
func exampleB() settlement.Claim {
	return settlement.Claim{
		InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "employee", Retiree: true,
		VisitType: "inpatient", HospitalLevel: 3, Registration: "relocated_retiree", NthAdmission: 2,
		AccountBalance: 3_000_00,
		Lines:          []settlement.Line{lineA(28_000_00), lineC(2_000_00), lineB(20_000_00, 1000)},
	}
}

func loadFile(t *testing.T, path string) *settlement.PolicySet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := settlement.LoadPolicies(f)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return ps
}

func TestWorkedExamples(t *testing.T) {
	def, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	b := loadFile(t, "testdata/example_b.yaml")
	tests := []struct {
		golden              string
		ps                  *settlement.PolicySet
		claim               settlement.Claim
		fund, account, cash contract.Fen
		ratio               int
	}{
		{"example_a_temporary", testPolicies(t), exampleA("temporary"), 9_570_00, 0, 10_430_00, 5500},
		{"example_a_referral", testPolicies(t), exampleA("referral"), 10_440_00, 0, 9_560_00, 6000},
		{"example_a_defaults", def, exampleA("temporary"), 9_570_00, 0, 10_430_00, 5500},
		{"example_b", b, exampleB(), 42_807_60, 3_000_00, 4_192_40, 9400},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r, err := tt.ps.Settle(tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			if r.Fund != tt.fund || r.Account != tt.account || r.Cash != tt.cash || r.Ratio != tt.ratio {
				t.Errorf("fund/account/cash/ratio = %v/%v/%v/%d, want %v/%v/%v/%d",
					r.Fund, r.Account, r.Cash, r.Ratio, tt.fund, tt.account, tt.cash, tt.ratio)
			}
			if personal := r.Account + r.Cash; personal != r.Total-tt.fund {
				t.Errorf("personal = %v", personal)
			}
			sums(t, r)
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", tt.golden+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("result differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

// The worked examples pin these figures of DOMAIN §5.6-5.7 independently of
// the golden files.
func TestWorkedExampleFigures(t *testing.T) {
	ps := testPolicies(t)
	a, err := ps.Settle(exampleA("temporary"))
	if err != nil {
		t.Fatal(err)
	}
	want := settlement.Result{Total: 20_000_00, FullOwnPay: 1_200_00, OverCeiling: 300_00, PreSelfPay: 600_00,
		InScope: 17_900_00, Deductible: 500_00, Fund: 9_570_00, Cash: 10_430_00, Ratio: 5500}
	a.Steps = nil
	if a.Total != want.Total || a.FullOwnPay != want.FullOwnPay || a.OverCeiling != want.OverCeiling ||
		a.PreSelfPay != want.PreSelfPay || a.InScope != want.InScope || a.Deductible != want.Deductible ||
		a.Fund != want.Fund || a.Account != 0 || a.Cash != want.Cash || a.Ratio != want.Ratio || a.CapHit {
		t.Errorf("example A = %+v, want %+v", a, want)
	}
	r, err := ps.Settle(exampleA("temporary"))
	if err != nil {
		t.Fatal(err)
	}
	var band string
	for _, s := range r.Steps {
		if s.Name == "band_1" {
			band = s.Detail
		}
	}
	if want := "(17,900.00 − 500.00) × 55%"; len(band) < len(want) || band[:len(want)] != want {
		t.Errorf("band_1 detail = %q, want prefix %q", band, want)
	}
	// In-scope personal part = 500 + 17,400 × 45 % = 8,330.00.
	if got := a.Deductible + (a.InScope - a.Deductible - a.Fund); got != 8_330_00 {
		t.Errorf("personal in-scope part = %v, want 8330.00", got)
	}
}
