package detectors_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// impBatch is pipelinetest.Valid() with a second hospital in the district,
// hospitals in another province (440304) and another city of the province
// (330302), and a third person (a woman of 67).
func impBatch() pipelinetest.Batch {
	b := pipelinetest.Valid()
	b["institutions"] = append(b["institutions"],
		pipelinetest.Row{"H33010600003", "杭州仁和医院", "hospital", "1", "330106", "50", ""},
		pipelinetest.Row{"H44030400007", "深圳福田中心医院", "hospital", "3", "440304", "800", ""},
		pipelinetest.Row{"H33030200008", "温州鹿城医院", "hospital", "2", "330302", "300", ""},
	)
	b["persons"] = append(b["persons"],
		pipelinetest.Row{"P003", pipelinetest.IDNumber("420102", "19580210", "246"), "王秀兰", "2", "1958-02-10", "420102", "resident", "", "", ""},
	)
	return b
}

// impAdd appends a copy of row `from` of table with fields changed.
func impAdd(b pipelinetest.Batch, table string, from int, kv map[string]string) {
	b[table] = append(b[table], append(pipelinetest.Row(nil), b[table][from]...))
	for k, v := range kv {
		b.Set(table, len(b[table])-1, k, v)
	}
}

// impStay adds an inpatient settlement (a copy of S001 without fee lines).
func impStay(b pipelinetest.Batch, id, person, card, org, admitted, discharged, dx string) {
	impAdd(b, "settlements", 0, map[string]string{"settlement_id": id, "person_id": person, "card_no": card, "org_code": org,
		"admitted_at": admitted, "discharged_at": discharged, "diagnosis_code": dx, "settled_at": discharged})
}

// impLine adds a fee line to a settlement.
func impLine(b pipelinetest.Batch, id, sid, code, name, at string) {
	impAdd(b, "fee_items", 0, map[string]string{"item_id": id, "settlement_id": sid, "item_code": code, "item_name": name,
		"category": "treatment", "catalog_class": "A", "quantity": "1.0000", "unit_price": "20.0000", "amount": "20.00", "charged_at": at})
}

// impLoad ingests a batch into a fresh in-memory database.
func impLoad(t *testing.T, b pipelinetest.Batch) *pipeline.DB {
	t.Helper()
	return pipelinetest.Load(t, b)
}

// impDetect runs one registered detector over a batch: subject → flag.
func impDetect(t *testing.T, b pipelinetest.Batch, name string) map[string]detectors.Flag {
	t.Helper()
	return detectortest.Detect(t, impLoad(t, b), name, nil)
}

// impCase is one table case: a change to impBatch, the subjects that must
// be flagged, those that must not, and strings the evidence must contain.
type impCase struct {
	name     string
	change   func(b pipelinetest.Batch)
	want     []string
	not      []string
	evidence []string
}

func impRun(t *testing.T, detector string, cases []impCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := impBatch()
			tc.change(b)
			got := impDetect(t, b, detector)
			for _, s := range tc.want {
				f, ok := got[s]
				if !ok {
					t.Errorf("%s not flagged (flags: %v)", s, impKeys(got))
					continue
				}
				ev, _ := json.Marshal(f.Evidence)
				for _, e := range tc.evidence {
					if !strings.Contains(string(ev), e) {
						t.Errorf("evidence of %s lacks %q: %s", s, e, ev)
					}
				}
				for _, p := range []string{"11010519", pipelinetest.IDNumber("611002", "19560312", "123"), "张建国", "李秀英", "王秀兰"} {
					if strings.Contains(string(ev), p) {
						t.Errorf("evidence of %s shows an ID number or a name: %s", s, ev)
					}
				}
				if f.Score <= 0 || f.Score > 1 || f.Evidence.Summary == "" {
					t.Errorf("flag %+v", f)
				}
			}
			for _, s := range tc.not {
				if _, ok := got[s]; ok {
					t.Errorf("%s flagged: %s", s, got[s].Evidence.Summary)
				}
			}
		})
	}
}

func impKeys(m map[string]detectors.Flag) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestImpersonationSexConflict(t *testing.T) {
	impRun(t, "impersonation.sex_conflict", []impCase{
		{name: "female-only diagnosis on a man", change: func(b pipelinetest.Batch) {
			b.Set("settlements", 0, "diagnosis_code", "N83.200")
		}, want: []string{"S001"}, evidence: []string{"N83.200", "卵巢囊肿", "限女性", `"sex":"男"`, `"age":68`}},
		{name: "female-only drug on a man", change: func(b pipelinetest.Batch) {
			impLine(b, "F010", "S001", "XG03DAH057A001010103309", "黄体酮胶囊", "2025-03-03 09:00:00")
		}, want: []string{"S001"}, evidence: []string{"XG03DAH057A001010103309", "黄体酮胶囊"}},
		{name: "the catalogue's own sex restriction", change: func(b pipelinetest.Batch) {
			b.Set("catalog", 0, "sex_restriction", "2")
		}, want: []string{"S001"}, not: []string{"S002"}, evidence: []string{"地喹氯铵含片"}},
		{name: "female diagnosis on a woman", change: func(b pipelinetest.Batch) {
			b.Set("settlements", 1, "diagnosis_code", "N83.200")
		}, not: []string{"S001", "S002"}},
		{name: "newborn on the mother: a boy's item on her newborn stay", change: func(b pipelinetest.Batch) {
			b["catalog"] = append(b["catalog"], pipelinetest.Row{"003311050010000", "新生儿包皮环切术", "surgery", "A", "", "", "1", "2024-01-01", ""})
			impStay(b, "S020", "P002", "B87654321", "H33010600001", "2025-04-02 09:00:00", "2025-04-05 10:00:00", "P59.900")
			impLine(b, "F020", "S020", "003311050010000", "新生儿包皮环切术", "2025-04-03 09:00:00")
			impLine(b, "F021", "S020", "001201000100000", "新生儿护理", "2025-04-03 10:00:00")
		}, not: []string{"S020"}},
		{name: "a male-only item on a woman outside a newborn stay", change: func(b pipelinetest.Batch) {
			impStay(b, "S021", "P003", "C11111111", "H33010600001", "2025-04-02 09:00:00", "2025-04-05 10:00:00", "J18.900")
			impLine(b, "F022", "S021", "XG04CAT188A001010102217", "盐酸坦索罗辛缓释胶囊", "2025-04-03 09:00:00")
		}, want: []string{"S021"}, evidence: []string{"限男性", `"sex":"女"`}},
	})
}

func TestImpersonationAgeConflict(t *testing.T) {
	impRun(t, "impersonation.age_conflict", []impCase{
		{name: "a delivery at 67", change: func(b pipelinetest.Batch) {
			impStay(b, "S030", "P003", "C11111111", "H33010600003", "2025-05-06 09:00:00", "2025-05-09 10:00:00", "O80.000")
		}, want: []string{"S030"}, evidence: []string{"O80.000", "单胎顺产", "妊娠、分娩和产褥期", `"age":67`}},
		{name: "a delivery at 36", change: func(b pipelinetest.Batch) {
			impStay(b, "S031", "P002", "B87654321", "H33010600001", "2025-05-06 09:00:00", "2025-05-09 10:00:00", "O80.000")
		}, not: []string{"S031"}},
		{name: "newborn jaundice and newborn care on the mother", change: func(b pipelinetest.Batch) {
			impStay(b, "S032", "P002", "B87654321", "H33010600001", "2025-05-12 09:00:00", "2025-05-15 10:00:00", "P59.900")
			impLine(b, "F030", "S032", "001201000100000", "新生儿护理", "2025-05-13 10:00:00")
		}, not: []string{"S032"}},
		{name: "a perinatal code on a man of 69", change: func(b pipelinetest.Batch) {
			b.Set("settlements", 0, "diagnosis_code", "P59.900")
		}, want: []string{"S001"}, evidence: []string{"P59.900", "新生儿黄疸", "起源于围生期的某些情况"}},
		{name: "neonatal items on a woman of 67", change: func(b pipelinetest.Batch) {
			impStay(b, "S033", "P003", "C11111111", "H33010600001", "2025-05-12 09:00:00", "2025-05-15 10:00:00", "J18.900")
			impLine(b, "F031", "S033", "002503070030000", "新生儿胆红素测定", "2025-05-13 10:00:00")
		}, want: []string{"S033"}, evidence: []string{"新生儿胆红素测定", `"max_age":1`}},
	})
}

func TestImpersonationOverlappingStays(t *testing.T) {
	impRun(t, "impersonation.overlapping_stays", []impCase{
		{name: "a stay at another hospital inside a stay", change: func(b pipelinetest.Batch) {
			impStay(b, "S040", "P001", "A12345678", "H33010600003", "2025-03-02 20:00:00", "2025-03-03 22:00:00", "I10.x00")
		}, want: []string{"S040"}, not: []string{"S001"}, evidence: []string{"杭州仁和医院", "杭州西湖第一医院", `"overlap_hours":26`, `"nested_inside_other":true`}},
		{name: "same-day transfer", change: func(b pipelinetest.Batch) {
			impStay(b, "S041", "P001", "A12345678", "H33010600003", "2025-03-04 11:30:00", "2025-03-09 10:00:00", "J18.900")
		}, not: []string{"S001", "S041"}},
		{name: "transfer whose times overlap by a few hours", change: func(b pipelinetest.Batch) {
			impStay(b, "S042", "P001", "A12345678", "H33010600003", "2025-03-04 06:00:00", "2025-03-09 10:00:00", "J18.900")
		}, not: []string{"S001", "S042"}},
		{name: "two stays at the same hospital", change: func(b pipelinetest.Batch) {
			impStay(b, "S043", "P001", "A12345678", "H33010600001", "2025-03-02 20:00:00", "2025-03-03 22:00:00", "I10.x00")
		}, not: []string{"S001", "S043"}},
	})
}

func TestImpersonationTwoPlaces(t *testing.T) {
	visit := func(b pipelinetest.Batch, id, org, when, cert string) {
		impAdd(b, "settlements", 1, map[string]string{"settlement_id": id, "org_code": org, "visit_type": "outpatient",
			"admitted_at": when, "settled_at": when, "diagnosis_code": "R50.900", "emergency": "true"})
		impAdd(b, "card_swipes", 1, map[string]string{"swipe_id": "W" + id, "org_code": org, "swiped_at": when,
			"settlement_id": id, "kind": "settlement", "cert_type": cert})
	}
	impRun(t, "impersonation.two_places", []impCase{
		{name: "another province 70 minutes after a purchase", change: func(b pipelinetest.Batch) {
			visit(b, "S050", "H44030400007", "2025-03-05 19:30:00", "03")
		}, want: []string{"S050"}, not: []string{"S002"}, evidence: []string{"深圳福田中心医院", "440304", "不同省份", `"limit_minutes":180`}},
		{name: "another province 4 hours later", change: func(b pipelinetest.Batch) {
			visit(b, "S051", "H44030400007", "2025-03-05 22:30:00", "03")
		}, not: []string{"S051", "S002"}},
		{name: "another city 30 minutes later", change: func(b pipelinetest.Batch) {
			visit(b, "S052", "H33030200008", "2025-03-05 18:50:00", "03")
		}, want: []string{"S052"}, evidence: []string{"同省不同城市"}},
		{name: "another city 2 hours later", change: func(b pipelinetest.Batch) {
			visit(b, "S053", "H33030200008", "2025-03-05 20:30:00", "03")
		}, not: []string{"S053"}},
		{name: "same district 10 minutes later", change: func(b pipelinetest.Batch) {
			visit(b, "S054", "H33010600001", "2025-03-05 18:30:00", "03")
		}, not: []string{"S054"}},
	})
	// An e-voucher shown remotely by family is still flagged, with a lower score.
	card, voucher := impBatch(), impBatch()
	visit(card, "S050", "H44030400007", "2025-03-05 19:30:00", "03")
	visit(voucher, "S050", "H44030400007", "2025-03-05 19:30:00", "01")
	c, v := impDetect(t, card, "impersonation.two_places")["S050"], impDetect(t, voucher, "impersonation.two_places")["S050"]
	if v.Score == 0 || v.Score >= c.Score {
		t.Errorf("e-voucher score %g, card score %g", v.Score, c.Score)
	}
}

func TestImpersonationCardPersonMismatch(t *testing.T) {
	impRun(t, "impersonation.card_person_mismatch", []impCase{
		{name: "a purchase with another person's card", change: func(b pipelinetest.Batch) {
			impAdd(b, "settlements", 1, map[string]string{"settlement_id": "S060", "card_no": "A12345678", "admitted_at": "2025-04-01 10:00:00", "settled_at": "2025-04-01 10:00:05"})
			impAdd(b, "card_swipes", 1, map[string]string{"swipe_id": "W060", "card_no": "A12345678", "person_id": "P001", "swiped_at": "2025-04-01 10:00:05", "settlement_id": "S060"})
		}, want: []string{"S060"}, not: []string{"S001", "S002"}, evidence: []string{"A12345678", `"person_id":"P001"`, `"person_id":"P002"`, `"sex":"女"`}},
		{name: "card re-issue: a new number for the same person", change: func(b pipelinetest.Batch) {
			impAdd(b, "settlements", 1, map[string]string{"settlement_id": "S061", "person_id": "P001", "card_no": "A99999999", "admitted_at": "2025-06-01 10:00:00", "settled_at": "2025-06-01 10:00:05"})
			impAdd(b, "card_swipes", 1, map[string]string{"swipe_id": "W061", "card_no": "A99999999", "person_id": "P001", "swiped_at": "2025-06-01 10:00:05", "settlement_id": "S061"})
		}, not: []string{"S001", "S002", "S061"}},
	})
}

func TestImpersonationIDInconsistent(t *testing.T) {
	impRun(t, "impersonation.id_inconsistent", []impCase{
		{name: "the ID's sex digit says male, the record female", change: func(b pipelinetest.Batch) {
			b.Set("persons", 2, "id_number", pipelinetest.IDNumber("420102", "19580210", "245"))
			impStay(b, "S070", "P003", "C11111111", "H33010600001", "2025-04-02 09:00:00", "2025-04-05 10:00:00", "J18.900")
		}, want: []string{"S070"}, not: []string{"S001", "S002"}, evidence: []string{`"sex":"男"`, `"birth_date_matches":true`, `"data_quality_note":true`}},
		{name: "the ID's birth digits differ", change: func(b pipelinetest.Batch) {
			b.Set("persons", 1, "id_number", pipelinetest.IDNumber("620102", "19890705", "244"))
		}, want: []string{"S002"}, not: []string{"S001"}, evidence: []string{`"birth_date_matches":false`, `"birth_days_off":365`}},
		{name: "consistent persons", change: func(b pipelinetest.Batch) {}, not: []string{"S001", "S002"}},
	})
}

func TestImpersonationCoAdmission(t *testing.T) {
	crew := func(b pipelinetest.Batch, prefix, dx string, times []string, gap time.Duration) {
		for i, p := range []string{"P001", "P002", "P003"} {
			for j, when := range times {
				a, _ := time.Parse(time.DateTime, when)
				a = a.Add(time.Duration(i) * gap)
				d := a.Add(5 * 24 * time.Hour)
				impStay(b, prefix+string(rune('A'+i))+string(rune('0'+j)), p, "C1111111"+string(rune('0'+i)), "H33010600003",
					a.Format(time.DateTime), d.Format(time.DateTime), dx)
			}
		}
	}
	twice := []string{"2025-06-02 09:00:00", "2025-08-04 09:10:00"}
	impRun(t, "impersonation.co_admission", []impCase{
		{name: "the same three admitted together twice", change: func(b pipelinetest.Batch) {
			crew(b, "S8", "J44.100", twice, 8*time.Minute)
		}, want: []string{"S8A0", "S8A1", "S8B0", "S8B1", "S8C0", "S8C1"}, not: []string{"S001"},
			evidence: []string{"杭州仁和医院", `"times_admitted_together":2`, "2025-06-02", "2025-08-04"}},
		{name: "a family outbreak admitted together once", change: func(b pipelinetest.Batch) {
			crew(b, "S8", "A05.900", twice[:1], 8*time.Minute)
		}, not: []string{"S8A0", "S8B0", "S8C0"}},
		{name: "chemotherapy cycles in step", change: func(b pipelinetest.Batch) {
			crew(b, "S8", "Z51.100", twice, 8*time.Minute)
		}, not: []string{"S8A0", "S8A1", "S8B0"}},
		{name: "admitted hours apart", change: func(b pipelinetest.Batch) {
			crew(b, "S8", "J44.100", twice, 90*time.Minute)
		}, not: []string{"S8A0", "S8A1", "S8B0", "S8C1"}},
	})
}

func TestImpersonationAfterDeath(t *testing.T) {
	impRun(t, "impersonation.after_death", []impCase{
		{name: "a purchase after death", change: func(b pipelinetest.Batch) {
			b.Set("persons", 1, "death_date", "2025-03-01")
		}, want: []string{"S002"}, evidence: []string{"2025-03-01"}},
		{name: "a stay ending in death on the death date", change: func(b pipelinetest.Batch) {
			b.Set("persons", 0, "death_date", "2025-03-04")
			b.Set("settlements", 0, "dscg_way", "5")
		}, not: []string{"S001"}},
	})
}
