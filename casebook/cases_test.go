package casebook

import (
	"math"
	"testing"

	"github.com/medaudit/medaudit/contract"
)

func TestPriority(t *testing.T) {
	pc := DefaultPriorityConfig()
	flags := []FlagRef{{Detector: "a", Score: 0.8}, {Detector: "b", Score: 1}}
	prec := map[string]float64{"a": 0.5}
	// p = 1 − (1 − 0.4)(1 − 0.5) = 0.7 → 1,000.00 yuan × 0.7
	if got := pc.Priority(100_000, flags, prec, "J18.900", "21"); math.Abs(got-700) > 1e-9 {
		t.Errorf("priority %g", got)
	}
	if got := pc.Priority(100_000, flags, prec, "C34.900", "26"); math.Abs(got-700*1.5*1.5) > 1e-9 {
		t.Errorf("boosted priority %g", got)
	}
	if !Severe("N18.500") || !Severe("D48.100") || Severe("D50.000") || Severe("") {
		t.Error("Severe")
	}
}

func TestRoute(t *testing.T) {
	if Route([]FlagRef{{Family: contract.FamilyGhostBed, Clinical: true}}) != "panel" {
		t.Error("clinical ghost bed should go to the panel")
	}
	if Route([]FlagRef{{Family: contract.FamilyImpersonation, Clinical: false}}) != "auditor" {
		t.Error("absolute impersonation should go to auditors")
	}
	if Route([]FlagRef{{Family: contract.FamilyCardMisuse, Clinical: true}}) != "auditor" {
		t.Error("card cases go to auditors")
	}
	if CaseID("settlement", "S1") != CaseID("settlement", "S1") || CaseID("settlement", "S1") == CaseID("card", "S1") {
		t.Error("case ids")
	}
}
