package detectors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
)

func TestSplitAdmission(t *testing.T) {
	pair := func(w *world, mod func(*visit)) {
		w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 6, "I63.900").normal().save()
		v := w.stay("S2", "P1", "H33010600001", "2025-05-16 09:00:00", 6, "I63.800").normal()
		if mod != nil {
			mod(v)
		}
		v.save()
	}
	runCases(t, "other.split_admission", []string{"readmission", "previous_stay", "gap_days"}, []detectCase{
		{"same diagnosis and department 6 days later", func(w *world) { pair(w, nil) }, []string{"S2"}, []string{"S1"}},
		{"emergency readmission", func(w *world) { pair(w, func(v *visit) { v.emergency = true }) }, nil, []string{"S2"}},
		{"planned readmission", func(w *world) { pair(w, func(v *visit) { v.rinp31 = true }) }, nil, []string{"S2"}},
		{"another department", func(w *world) { pair(w, func(v *visit) { v.dept = "A04" }) }, nil, []string{"S2"}},
		{"another diagnosis", func(w *world) { pair(w, func(v *visit) { v.dx = "J18.900" }) }, nil, []string{"S2"}},
		{"readmission after a month", func(w *world) {
			w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 6, "I63.900").normal().save()
			w.stay("S2", "P1", "H33010600001", "2025-06-20 09:00:00", 6, "I63.900").normal().save()
		}, nil, []string{"S2"}},
	})
}

func TestOutpatientDuringStay(t *testing.T) {
	runCases(t, "other.outpatient_during_stay", []string{"outpatient", "stay"}, []detectCase{
		{"outpatient settlement at the same hospital", func(w *world) {
			w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 8, "I10.x00").normal().save()
			w.outpatient("O1", "P1", "H33010600001", "2025-05-08 10:00:00", "I10.x00").save()
		}, []string{"O1"}, []string{"S1"}},
		{"the visit that led to the admission", func(w *world) {
			w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 8, "I10.x00").normal().save()
			w.outpatient("O1", "P1", "H33010600001", "2025-05-05 08:20:00", "I10.x00").save()
		}, nil, []string{"O1"}},
		{"a visit at another hospital", func(w *world) {
			w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 8, "I10.x00").normal().save()
			w.outpatient("O1", "P1", "H33010200001", "2025-05-08 10:00:00", "I10.x00").save()
		}, nil, []string{"O1"}},
	})
}

func TestLabAfterDischarge(t *testing.T) {
	runCases(t, "other.lab_after_discharge", []string{"stay", "lines_after_discharge"}, []detectCase{
		{"lab two days after discharge", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "J18.900").normal()
			v.lab(v.discharged.Add(48 * time.Hour)).save()
		}, []string{"S1"}, nil},
		{"report posted an hour after discharge", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "J18.900").normal()
			v.lab(v.discharged.Add(time.Hour)).save()
		}, nil, []string{"S1"}},
	})
}

func TestDuplicateItem(t *testing.T) {
	runCases(t, "other.duplicate_item", []string{"visit", "items"}, []detectCase{
		{"bed fee twice a day", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "J18.900").normal()
			v.line("001109000010000", "普通病房床位费", "bed", v.day(2).Add(time.Hour), 1, 30).save()
		}, []string{"S1"}, nil},
		{"late-night admission charged on the next day", func(w *world) {
			v := w.stay("S1", "P1", "H33010600001", "2025-05-05 23:40:00", 4, "J18.900")
			v.bed(v.day(1)).bed(v.day(1)).bed(v.day(2)).bed(v.day(3)).drug(v.day(1)).save()
		}, nil, []string{"S1"}},
		{"HIS batch billing", func(w *world) {
			batchBilled(w.stay("S1", "P1", "H33010600001", "2025-05-05 09:00:00", 5, "J18.900").normal()).save()
		}, nil, []string{"S1"}},
	})
}

func TestOverprescribing(t *testing.T) {
	type line struct {
		code, name string
		qty        int
		price      contract.Fen
	}
	buy := func(w *world, id, person, when string, ls ...line) {
		v := w.purchase(id, person, "P33010600002", when)
		for _, l := range ls {
			v = v.lineFen(l.code, l.name, "drug", v.admitted, l.qty, l.price, false)
		}
		v.save()
	}
	var (
		// boxes (a unit price above the piece ceiling): 12 × 457 mg ÷ 1,500 mg = 3.7 days a box
		amoxBox = func(n int) line { return line{"XJ01CRA015E001010100962", "阿莫西林克拉维酸钾片", n, 3200} }
		// pieces (拆零): 250 mg ÷ 300 mg = 0.83 days a piece
		azithroPiece = func(n int) line { return line{"XJ01FAA068A001010100288", "阿奇霉素片", n, 200} }
		// a chronic class (C08): up to 84 days
		amloPiece = func(n int) line { return line{"XC08CAA006A010010203120", "苯磺酸氨氯地平片", n, 50} }
		// metformin pieces: 500 mg ÷ 2,000 mg = 0.25 days a piece
		metforminPiece = func(n int) line { return line{"XA10BAE009A001010104388", "盐酸二甲双胍片", n, 50} }
		// boxes of 30 (a day a tablet): whole boxes rarely make exactly 12 weeks
		aspirinBox = func(n int) line { return line{"XB01ACA056A001020104711", "阿司匹林肠溶片", n, 1520} }
		// a non-prescription (OTC) drug of no chronic class: 1 piece = 1 day
		loratadine = func(n int) line { return line{"XR06AXL101A001010101087", "氯雷他定片", n, 120} }
		// not in the daily-dose table: never judged
		unknown = func(n int) line { return line{"XA01ABD075A002010100483", "地喹氯铵含片", n, 1200} }
	)
	runCases(t, "other.overprescribing", []string{"visit", "drugs", "days_supply_method"}, []detectCase{
		{"four boxes of an acute antibiotic (15 days)", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", amoxBox(4))
		}, []string{"B1"}, nil},
		{"one box (4 days)", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", amoxBox(1))
		}, nil, []string{"B1"}},
		{"thirty pieces billed 拆零 (25 days)", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", azithroPiece(30))
		}, []string{"B1"}, nil},
		{"a month of a chronic-class drug in pieces", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", amloPiece(30))
		}, nil, []string{"B1"}},
		{"a long prescription beyond 12 weeks (100 days of metformin)", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", metforminPiece(400))
		}, []string{"B1"}, nil},
		{"three boxes of 30 aspirin (90 days) are the whole-box 12-week supply; four are not", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", aspirinBox(3))
			buy(w, "B2", "P2", "2025-05-05 10:00:00", aspirinBox(4))
		}, []string{"B2"}, []string{"B1"}},
		{"a monthly repeat buyer is chronic; a one-off month is not", func(w *world) {
			for m := range 3 {
				buy(w, fmt.Sprintf("B%d", m), "P1", fmt.Sprintf("2025-%02d-05 10:00:00", 5+m), azithroPiece(30))
			}
			buy(w, "C1", "P2", "2025-05-05 10:00:00", azithroPiece(30))
		}, []string{"C1"}, []string{"B0", "B1", "B2"}},
		{"a non-prescription drug bought at a pharmacy is no prescription (two months of loratadine)", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", loratadine(60))
		}, nil, []string{"B1"}},
		{"a drug outside the daily-dose table is not guessed", func(w *world) {
			buy(w, "B1", "P1", "2025-05-05 10:00:00", unknown(300))
		}, nil, []string{"B1"}},
	})
}

func TestFrequentOutpatient(t *testing.T) {
	crowd := func(w *world) {
		for i := range 120 {
			w.outpatient(fmt.Sprintf("V%03d", i), fmt.Sprintf("PV%03d", i), "H33010600001", "2025-04-01 09:00:00", "J06.900").save()
		}
	}
	runCases(t, "other.frequent_outpatient", []string{"visits", "peer_baseline", "max_visits_in_window"}, []detectCase{
		{"seven visits in a month", func(w *world) {
			crowd(w)
			for i := range 7 {
				w.outpatient(fmt.Sprintf("F%d", i), "P1", "H33010600001", fmt.Sprintf("2025-05-%02d 09:00:00", 3+3*i), "J06.900").save()
			}
		}, []string{"P1"}, []string{"PV001"}},
		{"three visits in a month", func(w *world) {
			crowd(w)
			for i := range 3 {
				w.outpatient(fmt.Sprintf("F%d", i), "P1", "H33010600001", fmt.Sprintf("2025-05-%02d 09:00:00", 3+3*i), "J06.900").save()
			}
		}, nil, []string{"P1"}},
	})
}

// TestFrequentOutpatientTiedWindows: of two windows with as many visits,
// the evidence names the earlier, and the money is that window's (its start
// and its money are taken from one row, not by two choices among the tied).
func TestFrequentOutpatientTiedWindows(t *testing.T) {
	w := newWorld()
	for i := range 120 {
		w.outpatient(fmt.Sprintf("V%03d", i), fmt.Sprintf("PV%03d", i), "H33010600001", "2025-04-01 09:00:00", "J06.900").save()
	}
	// the later window first in the file, with dearer visits
	for i := range 7 {
		w.outpatient(fmt.Sprintf("L%d", i), "P1", "H33010600001", fmt.Sprintf("2025-08-%02d 09:00:00", 3+3*i), "J06.900").
			line("001102000010000", "普通门诊诊查费", "other", at(fmt.Sprintf("2025-08-%02d 09:00:00", 3+3*i)), 1, 50).save()
	}
	for i := range 7 {
		w.outpatient(fmt.Sprintf("E%d", i), "P1", "H33010600001", fmt.Sprintf("2025-05-%02d 09:00:00", 3+3*i), "J06.900").save()
	}
	f, ok := detect(t, w, "other.frequent_outpatient")["P1"]
	if !ok {
		t.Fatal("P1 not flagged")
	}
	// seven visits of 10 yuan, 60 % fund and 10 % account each
	if from, money := f.Evidence.Facts["window_from"], f.Evidence.Facts["window_fund_and_account"]; from != "2025-05-03" || money != "49.00" {
		t.Errorf("window from %v with %v yuan, want the earlier window: 2025-05-03, 49.00", from, money)
	}
}
