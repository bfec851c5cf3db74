package contract_test

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
)

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"+1+1":                       "'+1+1",
		"-2+3":                       "'-2+3",
		"@SUM(A1)":                   "'@SUM(A1)",
		"\t=1":                       "'\t=1",
		"\r=1":                       "'\r=1",
		"普通病房床位费":                    "普通病房床位费",
		"S001":                       "S001",
		"a=b":                        "a=b",
		"":                           "",
	} {
		if got := contract.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
