package codes_test

import (
	"strings"
	"testing"

	"github.com/medaudit/medaudit/codes"
)

// FuzzDiagnosisLookup checks the lookups that take a diagnosis code from the
// data against a brute-force reading of the tables: RuleFor finds the range
// holding the code's first three characters (letters in either case), and
// DiagnosisName prefers the dictionary's exact entry, then the range's name.
func FuzzDiagnosisLookup(f *testing.F) {
	for _, s := range []string{"J18.900", "O80.000", "o80.000", "N40.x00", "n4", "C56.x00", "Z38", "P07.300", "", "O", "Ｏ80", "\xffO80", "Z39.0", "N98", "N99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		rule, ok := codes.RuleFor(code)
		want, wantOK := codes.DiagnosisRule{}, false
		if len(code) >= 3 {
			cat := strings.ToUpper(code[:3])
			for _, r := range codes.DiagnosisRules {
				if cat >= r.From && cat <= r.To {
					want, wantOK = r, true
					break
				}
			}
		}
		if ok != wantOK || rule != want {
			t.Fatalf("RuleFor(%q) = %+v, %v; want %+v, %v", code, rule, ok, want, wantOK)
		}
		if ok && (len(rule.From) != 3 || rule.From > rule.To) {
			t.Fatalf("RuleFor(%q) = malformed range %+v", code, rule)
		}
		name := codes.DiagnosisName(code)
		for _, d := range codes.Diagnoses {
			if d.Code == code {
				if name != d.Name {
					t.Fatalf("DiagnosisName(%q) = %q, want the dictionary's %q", code, name, d.Name)
				}
				return
			}
		}
		if name != want.Name {
			t.Fatalf("DiagnosisName(%q) = %q, want the range's %q", code, name, want.Name)
		}
	})
}
