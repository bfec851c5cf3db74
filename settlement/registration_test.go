package settlement_test

import (
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

func TestCoversStay(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	admitted, discharged := day("2025-03-10"), day("2025-03-20")
	reg := func(area contract.RegionCode, from, to string) settlement.Registration {
		r := settlement.Registration{Kind: "temporary", TreatmentRegion: area}
		if from != "" {
			r.ValidFrom = day(from)
		}
		if to != "" {
			r.ValidTo = day(to)
		}
		return r
	}
	tests := []struct {
		name string
		reg  settlement.Registration
		org  contract.RegionCode
		want bool
	}{
		{"exact county, open validity", reg("330106", "", ""), "330106", true},
		{"other county of the city", reg("330106", "", ""), "330108", false},
		{"city covers its counties", reg("330100", "2025-01-01", ""), "330108", true},
		{"province covers its cities", reg("330000", "2025-01-01", "2025-12-31"), "330302", true},
		{"other province", reg("330000", "", ""), "440304", false},
		{"malformed org region", reg("330000", "", ""), "3303", false},
		{"filed during the stay", reg("330106", "2025-03-15", ""), "330106", true},
		{"filed on the discharge day", reg("330106", "2025-03-20", ""), "330106", true},
		{"filed after discharge", reg("330106", "2025-03-21", ""), "330106", false},
		{"expires on the admission day", reg("330106", "2024-09-01", "2025-03-10"), "330106", true},
		{"expired before admission", reg("330106", "2024-09-01", "2025-03-09"), "330106", false},
		{"expires during the stay", reg("330106", "2024-09-01", "2025-03-15"), "330106", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := settlement.CoversStay(tt.reg, tt.org, admitted, discharged); got != tt.want {
				t.Errorf("CoversStay = %v, want %v", got, tt.want)
			}
		})
	}
}
