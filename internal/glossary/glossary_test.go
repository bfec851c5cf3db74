package glossary_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/internal/glossary"
)

// TestEveryEvidenceKeyHasALabel runs every registered detector over the
// committed fixture sample and checks that each key of each flag's facts and
// thresholds (at any depth, in lists too) has a dictionary entry, and that
// each declared threshold has one even when no flag fired.
func TestEveryEvidenceKeyHasALabel(t *testing.T) {
	db := detectortest.Sample(t)
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]string{}
	flags := 0
	for _, d := range ds {
		if desc, ok := d.(detectors.Describer); ok {
			for _, th := range desc.Describe().Thresholds {
				if _, ok := glossary.Key(th.Name, glossary.Zh); !ok {
					missing[th.Name] = d.Name() + " threshold"
				}
			}
		}
		fs, err := d.Detect(context.Background(), db)
		if err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		for _, f := range fs {
			flags++
			b, _ := json.Marshal(f.Evidence)
			var ev struct {
				Facts      map[string]any     `json:"facts"`
				Thresholds map[string]float64 `json:"thresholds"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			facts, tables := glossary.Facts(ev.Facts, glossary.Zh, nil)
			for _, fa := range facts {
				if !fa.Known {
					missing[fa.Key] = d.Name()
				}
			}
			for _, tb := range tables {
				for _, c := range tb.Columns {
					if !c.Known {
						missing[tb.Key+"[]."+c.Key] = d.Name()
					}
				}
			}
			for k := range ev.Thresholds {
				if _, ok := glossary.Key(k, glossary.Zh); !ok {
					missing[k] = d.Name() + " threshold"
				}
			}
		}
	}
	if flags == 0 {
		t.Fatal("the sample raised no flags: nothing was checked")
	}
	if len(missing) > 0 {
		var ks []string
		for k, d := range missing {
			ks = append(ks, k+" ("+d+")")
		}
		sort.Strings(ks)
		t.Errorf("%d evidence keys of %d flags have no label:\n%v", len(ks), flags, ks)
	}
}

func TestValueRounding(t *testing.T) {
	org := func(code string) string {
		return map[string]string{"H33010600001": "杭州西溪第一人民医院"}[code]
	}
	tests := []struct {
		key  string
		v    any
		l    glossary.Lang
		want string
	}{
		{"peer_mad", 0.04000000000000001, glossary.Zh, "0.04"},
		{"coverage", 0.4444, glossary.Zh, "44.4%"},
		{"robust_z", 61.93315208333332, glossary.Zh, "61.9"},
		{"poisson_p", 2.2821894152258437e-8, glossary.Zh, "2.3e-08"},
		{"amount", "170.00", glossary.Zh, "170.00 元"},
		{"amount", "170.00", glossary.En, "170.00 yuan"},
		{"med_type", "21", glossary.Zh, "普通住院"},
		{"level", 0.0, glossary.Zh, "未定级"},
		{"kind", "swipe:settlement", glossary.Zh, "刷卡·结算"},
		{"kind", "outpatient", glossary.En, "outpatient"},
		{"emergency", false, glossary.Zh, "否"},
		{"diagnosis_code", "J18.900", glossary.Zh, "J18.900 肺炎"},
		{"org_code", "H33010600001", glossary.Zh, "H33010600001 杭州西溪第一人民医院"},
		{"admitted_at", "2025-02-10 10:54:37", glossary.Zh, "2025-02-10 10:54"},
	}
	for _, tt := range tests {
		if got := glossary.Value(tt.key, tt.v, tt.l, org); got != tt.want {
			t.Errorf("Value(%s, %v) = %q, want %q", tt.key, tt.v, got, tt.want)
		}
	}
}

func TestTimesInShanghai(t *testing.T) {
	utc := time.Date(2026, 12, 19, 23, 3, 0, 0, time.UTC)
	if got := glossary.Time(utc); got != "2026-12-20 07:03" {
		t.Errorf("Time = %q", got)
	}
	stay := time.Date(2025, 2, 10, 10, 54, 37, 0, time.UTC) // a zone-less clock time read as UTC
	if got := glossary.Local(stay).Format(time.RFC3339); got != "2025-02-10T10:54:37+08:00" {
		t.Errorf("Local = %q", got)
	}
	if got := glossary.Payload(`{"from":"triage","to":"panel_review","role":"auditor"}`, glossary.Zh); got != "原状态：初审；角色：稽核人员；新状态：专家复审" {
		t.Errorf("Payload = %q", got)
	}
}
