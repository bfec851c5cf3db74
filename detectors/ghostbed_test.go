package detectors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// world builds a small batch of hospitals, persons, stays, visits, fee
// lines and swipes for the ghost-bed and related-violation tests.
type world struct {
	b       pipelinetest.Batch
	persons map[string]bool
	n       int
}

func newWorld() *world {
	w := &world{b: pipelinetest.Batch{}, persons: map[string]bool{}}
	w.org("H33010600001", "杭州测试医院", "hospital", 1, "330106", "100", "")
	w.org("H44030400001", "深圳测试医院", "hospital", 3, "440304", "800", "")
	w.org("H33010200001", "杭州上城医院", "hospital", 2, "330102", "300", "")
	w.org("P33010600002", "西湖测试药房", "pharmacy", 0, "330106", "", "")
	return w
}

// add appends a row given by column name; columns not given are empty.
func (w *world) add(table string, kv map[string]string) {
	w.b.Add(table, kv)
}

func (w *world) org(code, name, kind string, level int, region, beds, specialty string) {
	w.add("institutions", map[string]string{"org_code": code, "name": name, "kind": kind, "level": fmt.Sprint(level),
		"region_code": region, "beds": beds, "specialty": specialty})
}

func (w *world) person(id string) {
	if w.persons[id] {
		return
	}
	w.persons[id] = true
	w.n++
	w.add("persons", map[string]string{"person_id": id, "id_number": pipelinetest.IDNumber("611002", "19560312", fmt.Sprintf("%03d", w.n%1000)),
		"name": "测试", "sex": "1", "birth_date": "1956-03-12", "insured_region": "611002", "insurance_type": "employee"})
}

const ts = "2006-01-02 15:04:05"

func at(s string) time.Time {
	t, err := time.Parse(ts, s)
	if err != nil {
		panic(err)
	}
	return t
}

// visit is a settlement under construction.
type visit struct {
	w                       *world
	id, person, org, kind   string
	admitted, discharged    time.Time
	dx, dept, medType, dscg string
	emergency, rinp31       bool
	lines                   []map[string]string
	total                   contract.Fen
}

func (w *world) stay(id, person, org, admitted string, los int, dx string) *visit {
	w.person(person)
	a := at(admitted)
	d := time.Date(a.Year(), a.Month(), a.Day()+los-1, 10, 0, 0, 0, time.UTC)
	if los <= 1 {
		d = a.Add(6 * time.Hour)
	}
	return &visit{w: w, id: id, person: person, org: org, kind: "inpatient", admitted: a, discharged: d, dx: dx, dept: "A03", medType: "21", dscg: "1"}
}

func (w *world) outpatient(id, person, org, when, dx string) *visit {
	w.person(person)
	return &visit{w: w, id: id, person: person, org: org, kind: "outpatient", admitted: at(when), dx: dx, dept: "A03", medType: "11"}
}

func (w *world) purchase(id, person, org, when string) *visit {
	w.person(person)
	return &visit{w: w, id: id, person: person, org: org, kind: "pharmacy", admitted: at(when), medType: "41"}
}

// line adds a fee line; price in yuan.
func (v *visit) line(code, name, category string, when time.Time, qty, price int) *visit {
	return v.lineFlag(code, name, category, when, qty, price, false)
}

func (v *visit) lineFlag(code, name, category string, when time.Time, qty, price int, takeHome bool) *visit {
	return v.lineFen(code, name, category, when, qty, contract.Fen(price*100), takeHome)
}

// lineFen adds a fee line with a unit price in fen (e.g. 0.50 yuan a piece).
func (v *visit) lineFen(code, name, category string, when time.Time, qty int, price contract.Fen, takeHome bool) *visit {
	amount := contract.Fen(qty) * price
	v.total += amount
	flag := ""
	if takeHome {
		flag = "true"
	}
	v.lines = append(v.lines, map[string]string{"item_id": fmt.Sprintf("%s-%d", v.id, len(v.lines)+1), "settlement_id": v.id,
		"item_code": code, "item_name": name, "category": category, "catalog_class": "A",
		"quantity": fmt.Sprintf("%d.0000", qty), "unit_price": price.String() + "00", "amount": amount.String(),
		"charged_at": when.Format(ts), "dscg_tkdrug_flag": flag})
	return v
}

func (v *visit) bed(when time.Time) *visit {
	v.line("001109000010000", "普通病房床位费", "bed", when, 1, 30)
	return v.line("001201000040000", "Ⅱ级护理", "nursing", when, 1, 20)
}

func (v *visit) drug(when time.Time) *visit {
	return v.line("XA01ABD075A002010100483", "地喹氯铵含片", "drug", when, 1, 12)
}

func (v *visit) iv(when time.Time) *visit {
	return v.line("001204000060000", "静脉输液", "treatment", when, 1, 15)
}

func (v *visit) lab(when time.Time) *visit {
	return v.line("002501010010000", "血细胞分析", "lab", when, 1, 25)
}

func (v *visit) exam(when time.Time) *visit {
	return v.line("002103000010000", "X线计算机体层(CT)平扫", "exam", when, 1, 300)
}

// day returns 09:00 on day k of the stay.
func (v *visit) day(k int) time.Time {
	return time.Date(v.admitted.Year(), v.admitted.Month(), v.admitted.Day()+k, 9, 0, 0, 0, time.UTC).Add(30 * time.Minute)
}

func (v *visit) los() int {
	return int(v.discharged.Truncate(24*time.Hour).Sub(v.admitted.Truncate(24*time.Hour)).Hours()/24) + 1
}

// normal fills a treated stay: bed, nursing, a drug and an infusion every
// day, a lab on the first day.
func (v *visit) normal() *visit {
	for k := range v.los() {
		v.bed(v.day(k)).drug(v.day(k)).iv(v.day(k))
	}
	return v.lab(v.day(0))
}

// save writes the settlement, its lines and its card swipe.
func (v *visit) save() {
	w := v.w
	if v.total == 0 {
		v.line("001102000010000", "普通门诊诊查费", "other", v.admitted, 1, 10)
	}
	fund := v.total * 6 / 10
	acct := v.total / 10
	cash := v.total - fund - acct
	settled := v.admitted.Add(10 * time.Minute)
	dis := ""
	if v.kind == "inpatient" {
		settled = v.discharged.Add(30 * time.Minute)
		dis = v.discharged.Format(ts)
	}
	w.add("settlements", map[string]string{"settlement_id": v.id, "person_id": v.person, "card_no": "C" + v.person, "org_code": v.org,
		"visit_type": v.kind, "dept_code": v.dept, "admitted_at": v.admitted.Format(ts), "discharged_at": dis, "diagnosis_code": v.dx,
		"total_amount": v.total.String(), "fund_paid": fund.String(), "account_paid": acct.String(), "cash_paid": cash.String(),
		"insured_region": "611002", "treatment_region": "330106", "settled_at": settled.Format(ts),
		"emergency": fmt.Sprint(v.emergency), "med_type": v.medType, "dscg_way": v.dscg, "days_rinp_flag_31": fmt.Sprint(v.rinp31)})
	for _, l := range v.lines {
		w.add("fee_items", l)
	}
	kind := "settlement"
	if v.kind == "pharmacy" {
		kind = "purchase"
	}
	w.add("card_swipes", map[string]string{"swipe_id": "W" + v.id, "card_no": "C" + v.person, "person_id": v.person, "org_code": v.org,
		"swiped_at": settled.Format(ts), "amount": v.total.String(), "kind": kind, "settlement_id": v.id})
}

// load ingests the world into a fresh in-memory database and fails on any
// quarantined row.
func (w *world) load(t *testing.T) *pipeline.DB {
	t.Helper()
	return pipelinetest.Load(t, w.b)
}

// detect runs one registered detector over the world.
func detect(t *testing.T, w *world, name string) map[string]detectors.Flag {
	t.Helper()
	return detectortest.Detect(t, w.load(t), name, nil)
}

// detectCase is one must-fire / must-not-fire case: build adds the rows,
// fire lists the subjects that must be flagged, quiet those that must not,
// and facts the evidence keys every fired flag must carry.
type detectCase struct {
	name  string
	build func(w *world)
	fire  []string
	quiet []string
}

func runCases(t *testing.T, detector string, facts []string, cases []detectCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld()
			c.build(w)
			flags := detect(t, w, detector)
			for _, id := range c.fire {
				f, ok := flags[id]
				if !ok {
					t.Errorf("%s not flagged (flags: %v)", id, keys(flags))
					continue
				}
				if err := f.Validate(); err != nil {
					t.Error(err)
				}
				for _, k := range facts {
					if _, ok := f.Evidence.Facts[k]; !ok {
						t.Errorf("%s: evidence lacks %q: %v", id, k, f.Evidence.Facts)
					}
				}
				if f.Evidence.Summary == "" || f.AmountAtRisk <= 0 || f.Score <= 0 {
					t.Errorf("%s: summary %q, amount %v, score %g", id, f.Evidence.Summary, f.AmountAtRisk, f.Score)
				}
			}
			for _, id := range c.quiet {
				if f, ok := flags[id]; ok {
					t.Errorf("%s flagged: %s", id, f.Evidence.Summary)
				}
			}
		})
	}
}

func keys(m map[string]detectors.Flag) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// honest adds n treated stays of 6 days at org (the hospital's baseline).
func honest(w *world, org string, n int) {
	for i := range n {
		w.stay(fmt.Sprintf("N%s%02d", org[len(org)-3:], i), fmt.Sprintf("PN%s%02d", org[len(org)-3:], i), org,
			fmt.Sprintf("2025-03-%02d 09:00:00", 3+i), 6, "J18.900").normal().save()
	}
}

// idle adds a stay with bed and nursing every day but treatment on day 0 only.
func idle(w *world, id, person, org string, los int) *visit {
	v := w.stay(id, person, org, "2025-05-05 09:00:00", los, "I10.x00")
	for k := range v.los() {
		v.bed(v.day(k))
	}
	return v.drug(v.day(0)).lab(v.day(0))
}

// batchBilled moves every line of the visit to its discharge time (an HIS
// that posts at settlement).
func batchBilled(v *visit) *visit {
	for _, l := range v.lines {
		l["charged_at"] = v.discharged.Format(ts)
	}
	return v
}

func TestNoDailyActivity(t *testing.T) {
	runCases(t, "ghost_bed.no_daily_activity", []string{"stay", "org", "idle_days", "hospital_baseline"}, []detectCase{
		{"idle stay at an active hospital", func(w *world) {
			honest(w, "H33010600001", 5)
			idle(w, "S1", "P1", "H33010600001", 8).save()
		}, []string{"S1"}, []string{"NH00100"}},
		{"psychiatric hospital: low intensity is its norm", func(w *world) {
			w.org("H33010600008", "康宁精神卫生中心", "hospital", 2, "330106", "300", "精神")
			for i := range 5 {
				idle(w, fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600008", 20).save()
			}
		}, nil, []string{"S0", "S1", "S2", "S3", "S4"}},
		{"HIS batch billing hospital", func(w *world) {
			w.org("H33010600007", "转塘医院", "hospital", 2, "330106", "300", "")
			for i := range 5 {
				v := w.stay(fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600007", "2025-03-03 09:00:00", 7, "J18.900").normal()
				batchBilled(v).save()
			}
		}, nil, []string{"S0", "S1", "S2", "S3", "S4"}},
		{"day surgery", func(w *world) {
			honest(w, "H33010600001", 5)
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 08:00:00", 1, "H25.900")
			v.medType = "28"
			v.bed(v.day(0)).line("003308000050000", "白内障手术", "surgery", v.admitted.Add(time.Hour), 1, 2000).save()
		}, nil, []string{"S1"}},
	})
}

func TestNoDailyCharges(t *testing.T) {
	runCases(t, "ghost_bed.no_daily_charges", []string{"stay", "days_without", "hospital_baseline"}, []detectCase{
		{"five days without bed charges", func(w *world) {
			honest(w, "H33010600001", 5)
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 10, "I10.x00")
			for k := range v.los() {
				if k < 2 || k > 6 {
					v.bed(v.day(k))
				}
				v.drug(v.day(k))
			}
			v.save()
		}, []string{"S1"}, nil},
		{"late-evening admission charged from the next day", func(w *world) {
			honest(w, "H33010600001", 5)
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 23:30:00", 6, "J18.900")
			for k := 1; k < v.los(); k++ {
				v.bed(v.day(k)).drug(v.day(k))
			}
			v.save()
		}, nil, []string{"S1"}},
		{"HIS batch billing hospital", func(w *world) {
			w.org("H33010600007", "转塘医院", "hospital", 2, "330106", "300", "")
			for i := range 5 {
				batchBilled(w.stay(fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600007", "2025-03-03 09:00:00", 7, "J18.900").normal()).save()
			}
		}, nil, []string{"S0", "S1"}},
	})
}

func TestNoEarlyTreatment(t *testing.T) {
	late := func(v *visit, from int) *visit {
		for k := range v.los() {
			v.bed(v.day(k))
			if k >= from {
				v.drug(v.day(k)).iv(v.day(k))
			}
		}
		return v
	}
	runCases(t, "ghost_bed.no_early_treatment", []string{"stay", "hours_to_first_clinical", "hospital_baseline"}, []detectCase{
		{"nothing in the first three days", func(w *world) {
			honest(w, "H33010600001", 6)
			late(w.stay("S1", "P1", "H33010600001", "2025-05-06 09:00:00", 8, "I10.x00"), 3).save() // Tuesday
		}, []string{"S1"}, nil},
		{"tests the evening before admission", func(w *world) {
			honest(w, "H33010600001", 6)
			v := late(w.stay("S1", "P1", "H33010600001", "2025-05-06 09:00:00", 8, "K80.200"), 3)
			v.lab(v.admitted.Add(-14 * time.Hour)).exam(v.admitted.Add(-13 * time.Hour)).save()
		}, nil, []string{"S1"}},
		{"Friday admission for a Monday operation", func(w *world) {
			honest(w, "H33010600001", 6)
			v := late(w.stay("S1", "P1", "H33010600001", "2025-05-09 15:00:00", 6, "K80.200"), 3) // Friday
			v.line("003310080090000", "腹腔镜胆囊切除术", "surgery", v.day(3), 1, 3000).save()
		}, nil, []string{"S1"}},
		{"HIS batch billing hospital", func(w *world) {
			w.org("H33010600007", "转塘医院", "hospital", 2, "330106", "300", "")
			for i := range 5 {
				batchBilled(w.stay(fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600007", "2025-03-04 09:00:00", 7, "J18.900").normal()).save()
			}
		}, nil, []string{"S0", "S1"}},
	})
}

func TestExamOnly(t *testing.T) {
	runCases(t, "ghost_bed.exam_only", []string{"stay", "exam_lab_share"}, []detectCase{
		{"tests only", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-06 09:00:00", 4, "M54.500")
			for k := range v.los() {
				v.bed(v.day(k)).exam(v.day(k)).lab(v.day(k)).lab(v.day(k))
			}
			v.save()
		}, []string{"S1"}, nil},
		{"work-up with treatment", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-06 09:00:00", 4, "C34.900")
			for k := range v.los() {
				v.bed(v.day(k)).exam(v.day(k)).lab(v.day(k)).lab(v.day(k))
			}
			v.iv(v.day(1)).save()
		}, nil, []string{"S1"}},
	})
}

func TestOutsideActivity(t *testing.T) {
	stay := func(w *world) *visit {
		return w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 10, "I10.x00").normal()
	}
	runCases(t, "ghost_bed.outside_activity", []string{"stay", "outside_events", "weighted_events"}, []detectCase{
		{"night emergency in another province", func(w *world) {
			stay(w).save()
			o := w.outpatient("O1", "P1", "H44030400001", "2025-05-09 21:30:00", "R50.900")
			o.emergency = true
			o.save()
		}, []string{"S1"}, nil},
		{"daytime visit at another hospital in the city", func(w *world) {
			stay(w).save()
			w.outpatient("O1", "P1", "H33010200001", "2025-05-07 10:00:00", "M54.500").save()
		}, []string{"S1"}, nil},
		{"proxy purchase at the pharmacy next door", func(w *world) {
			stay(w).save()
			w.purchase("O1", "P1", "P33010600002", "2025-05-08 11:00:00").drug(at("2025-05-08 11:00:00")).save()
		}, nil, []string{"S1"}},
		{"take-home purchase on the discharge day", func(w *world) {
			stay(w).save()
			w.outpatient("O1", "P1", "H33010200001", "2025-05-14 08:00:00", "I10.x00").save()
		}, nil, []string{"S1"}},
		{"same-day transfer to another hospital", func(w *world) {
			v := stay(w)
			v.dscg = "2"
			v.save()
			w.stay("S2", "P1", "H44030400001", "2025-05-14 15:00:00", 5, "I10.x00").normal().save()
		}, nil, []string{"S1", "S2"}},
	})
}

func TestChargesOutsideStay(t *testing.T) {
	runCases(t, "ghost_bed.charges_outside_stay", []string{"stay", "lines", "outside_amount"}, []detectCase{
		{"lines three days after discharge", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "I10.x00").normal()
			v.exam(v.discharged.Add(72 * time.Hour)).save()
		}, []string{"S1"}, nil},
		{"take-home drugs and pre-admission tests", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "I10.x00").normal()
			v.lab(v.admitted.Add(-20*time.Hour)).
				lineFlag("XA01ABD075A002010100483", "地喹氯铵含片", "drug", v.discharged.Add(30*time.Hour), 2, 12, true).save()
		}, nil, []string{"S1"}},
	})
}

func TestBatchBackfill(t *testing.T) {
	runCases(t, "ghost_bed.batch_backfill", []string{"stay", "share", "hospital_baseline"}, []detectCase{
		{"every line at discharge at a daily-billing hospital", func(w *world) {
			honest(w, "H33010600001", 5)
			batchBilled(w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 7, "E11.900").normal()).save()
		}, []string{"S1"}, nil},
		{"HIS batch billing hospital", func(w *world) {
			w.org("H33010600007", "转塘医院", "hospital", 2, "330106", "300", "")
			for i := range 5 {
				batchBilled(w.stay(fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600007", "2025-03-03 09:00:00", 7, "J18.900").normal()).save()
			}
		}, nil, []string{"S0", "S1", "S2"}},
	})
}

func TestFrequentShortStays(t *testing.T) {
	series := func(w *world, dx string, gap, los int, mod func(*visit)) {
		for i := range 3 {
			v := w.stay(fmt.Sprintf("S%d", i), "P1", "H33010600001", time.Date(2025, 3, 3+i*gap, 9, 0, 0, 0, time.UTC).Format(ts), los, dx).normal()
			if mod != nil && i > 0 {
				mod(v)
			}
			v.save()
		}
	}
	runCases(t, "ghost_bed.frequent_short_stays", []string{"stay", "admissions_in_window", "stays"}, []detectCase{
		{"three short stays in 60 days", func(w *world) { series(w, "I10.x00", 25, 3, nil) }, []string{"S0", "S1", "S2"}, nil},
		{"chemotherapy cycles", func(w *world) { series(w, "Z51.100", 21, 3, nil) }, nil, []string{"S0", "S1", "S2"}},
		{"planned readmissions", func(w *world) {
			series(w, "C34.900", 21, 3, func(v *visit) { v.rinp31 = true })
		}, nil, []string{"S0", "S1", "S2"}},
		{"three stays spread over a year", func(w *world) { series(w, "I10.x00", 80, 3, nil) }, nil, []string{"S0", "S1", "S2"}},
		{"three long stays in 90 days (a clinical course)", func(w *world) { series(w, "S72.000", 30, 20, nil) }, nil, []string{"S0", "S1", "S2"}},
	})
}

// group adds size persons admitted 10 minutes apart on day and discharged
// together los-1 days later.
func group(w *world, prefix, org, day string, size, los int, dx string) {
	a := at(day + " 08:30:00")
	for i := range size {
		v := w.stay(fmt.Sprintf("%s%d", prefix, i), fmt.Sprintf("P%s%d", prefix, i), org, a.Add(time.Duration(i)*10*time.Minute).Format(ts), los, dx)
		v.discharged = v.discharged.Add(time.Duration(i) * time.Minute)
		v.normal().save()
	}
}

// busyWeekdays adds the tier-3 hospital H33010600009 and calls each for
// the weekdays among the days days from 2025-03-03 (day d at midnight).
func busyWeekdays(w *world, days int, each func(d int, day time.Time)) {
	w.org("H33010600009", "大医院", "hospital", 3, "330106", "1500", "")
	for d := range days {
		day := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		if day.Weekday() != time.Saturday && day.Weekday() != time.Sunday {
			each(d, day)
		}
	}
}

func TestGroupAdmission(t *testing.T) {
	small := func(w *world) {
		w.org("H33010600010", "仁和医院", "hospital", 1, "330106", "40", "")
		// a quiet baseline: one admission every few days with varied stays
		for i := range 30 {
			d := time.Date(2025, 1, 6+i*3, 9, 0, 0, 0, time.UTC)
			w.stay(fmt.Sprintf("B%02d", i), fmt.Sprintf("PB%02d", i), "H33010600010", d.Format(ts), 3+i%7, "J18.900").normal().save()
		}
	}
	runCases(t, "ghost_bed.group_admission", []string{"stay", "group", "baseline"}, []detectCase{
		{"two groups at a small hospital", func(w *world) {
			small(w)
			group(w, "G", "H33010600010", "2025-06-10", 6, 8, "I10.x00")
			group(w, "K", "H33010600010", "2025-08-12", 5, 9, "I10.x00")
		}, []string{"G0", "G5", "K0", "K4"}, []string{"B00"}},
		{"a single group is not repeated", func(w *world) {
			small(w)
			group(w, "G", "H33010600010", "2025-06-10", 6, 8, "I10.x00")
		}, nil, []string{"G0", "G5"}},
		{"family food poisoning outbreaks", func(w *world) {
			small(w)
			group(w, "G", "H33010600010", "2025-06-10", 6, 3, "A05.900")
			group(w, "K", "H33010600010", "2025-08-12", 5, 3, "A05.900")
		}, nil, []string{"G0", "K0"}},
		{"a busy hospital's natural coincidences", func(w *world) {
			busyWeekdays(w, 40, func(d int, day time.Time) {
				group(w, fmt.Sprintf("D%02d", d), "H33010600009", day.Format("2006-01-02"), 8, 4, "J18.900")
			})
		}, nil, []string{"D000", "D010"}},
		{"a busy hospital's busier days", func(w *world) {
			// 30 admissions each weekday morning, and twice 60: far beyond a
			// Poisson count (corrected p about 1e-5) yet only twice the
			// hospital's rate, the swing of a busy hospital's days.
			busyWeekdays(w, 28, func(d int, day time.Time) {
				n := 30
				if d == 8 || d == 15 {
					n = 60
				}
				for i := range n {
					w.stay(fmt.Sprintf("D%02d%02d", d, i), fmt.Sprintf("PD%02d%02d", d, i), "H33010600009",
						day.Add(8*time.Hour+time.Duration(i)*time.Duration(110/n)*time.Minute).Format(ts), 4, "J18.900").normal().save()
				}
			})
		}, nil, []string{"D0800", "D1559", "D0000"}},
	})
}

func TestOverCapacity(t *testing.T) {
	crowd := func(w *world, beds string) {
		w.org("H33010600011", "安康医院", "hospital", 0, "330106", beds, "")
		w.stay("L1", "PL1", "H33010600011", "2025-01-06 09:00:00", 60, "I63.900").normal().save()
		for i := range 8 {
			w.stay(fmt.Sprintf("S%d", i), fmt.Sprintf("P%d", i), "H33010600011", fmt.Sprintf("2025-02-03 %02d:00:00", 8+i), 12, "E11.900").normal().save()
		}
		w.stay("T1", "PT1", "H33010600011", "2025-02-08 09:00:00", 3, "J18.900").normal().save()
	}
	runCases(t, "ghost_bed.over_capacity", []string{"stay", "peak_census", "quarter_over_capacity_days"}, []detectCase{
		{"nine patients in four beds for eleven nights", func(w *world) { crowd(w, "4") },
			[]string{"S0", "S7"}, []string{"L1", "T1"}},
		{"enough beds", func(w *world) { crowd(w, "12") }, nil, []string{"S0", "S7"}},
		{"beds not reported", func(w *world) { crowd(w, "") }, nil, []string{"S0", "S7"}},
	})
}

func TestLowIndicationDx(t *testing.T) {
	runCases(t, "ghost_bed.low_indication_dx", []string{"stay", "treated_share", "hospital_baseline"}, []detectCase{
		{"stable hypertension hardly treated", func(w *world) {
			honest(w, "H33010600001", 5)
			idle(w, "S1", "P1", "H33010600001", 7).save()
		}, []string{"S1"}, nil},
		{"hypertension treated daily", func(w *world) {
			honest(w, "H33010600001", 5)
			w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 7, "I10.x00").normal().save()
		}, nil, []string{"S1"}},
		{"a diagnosis that needs a bed", func(w *world) {
			honest(w, "H33010600001", 5)
			v := idle(w, "S1", "P1", "H33010600001", 7)
			v.dx = "I63.900"
			v.save()
		}, nil, []string{"S1"}},
	})
}

func TestHospitalRate(t *testing.T) {
	build := func(w *world, badShort int) {
		for h := range 5 {
			code := fmt.Sprintf("H3301060002%d", h)
			w.org(code, fmt.Sprintf("一级医院%d", h), "hospital", 1, "330106", "50", "")
			for i := range 24 {
				los := 7 + i%3
				if h == 4 && i < badShort || h != 4 && i < 2+h%2 {
					los = 3
				}
				w.stay(fmt.Sprintf("S%d%02d", h, i), fmt.Sprintf("P%d%02d", h, i), code, time.Date(2025, 1, 6+i*5, 9, 0, 0, 0, time.UTC).Format(ts), los, "J18.900").
					drug(time.Date(2025, 1, 6+i*5, 10, 0, 0, 0, time.UTC)).save()
			}
		}
	}
	// busy: five hospitals of 100 beds; four admit 200 or 201 a year, the
	// fifth 240: a z of about 50 (the peers hardly differ) and a Poisson
	// tail of 0.003, but only 1.2× the peers' rate.
	busy := func(w *world) {
		for h, n := range []int{200, 200, 201, 201, 240} {
			code := fmt.Sprintf("H3301060003%d", h)
			w.org(code, fmt.Sprintf("二级医院%d", h), "hospital", 2, "330106", "100", "")
			for i := range n {
				at := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 36 * time.Hour)
				w.stay(fmt.Sprintf("S%d%03d", h, i), fmt.Sprintf("P%d%03d", h, i), code, at.Format(ts), 7+i%3, "J18.900").
					drug(at.Add(time.Hour)).save()
			}
		}
	}
	runCases(t, "ghost_bed.hospital_rate", []string{"org", "features", "peers"}, []detectCase{
		{"short stays far above peers", func(w *world) { build(w, 18) }, []string{"H33010600024"}, []string{"H33010600020"}},
		{"like its peers", func(w *world) { build(w, 3) }, nil, []string{"H33010600024"}},
		{"a busy hospital 1.2× its peers' admissions per bed", busy, nil, []string{"H33010600034"}},
	})
}

func TestGhostBedDescriptions(t *testing.T) {
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range detectors.Select(ds, []string{"ghost_bed."}) {
		info := d.(detectors.Describer).Describe()
		if info.Family != contract.FamilyGhostBed || !strings.HasPrefix(info.Name, "ghost_bed.") || len(info.Caveats) == 0 || info.Basis == "" {
			t.Errorf("%s: incomplete description %+v", d.Name(), info)
		}
	}
}
