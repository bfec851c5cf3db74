package detectors_test

import (
	"fmt"
	"testing"
	"time"
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
	// the drug's usual daily quantity comes from inpatients: 1 a day
	reference := func(w *world) {
		for i := range 4 {
			w.stay(fmt.Sprintf("R%d", i), fmt.Sprintf("PR%d", i), "H33010600001", fmt.Sprintf("2025-03-%02d 09:00:00", 3+i), 7, "J18.900").normal().save()
		}
	}
	buy := func(w *world, id, person, when string, qty int) {
		v := w.purchase(id, person, "P33010600002", when)
		v.line("XA01ABD075A002010100483", "地喹氯铵含片", "drug", v.admitted, qty, 12).save()
	}
	runCases(t, "other.overprescribing", []string{"visit", "drugs", "approximation"}, []detectCase{
		{"a month of an acute drug", func(w *world) {
			reference(w)
			buy(w, "B1", "P1", "2025-05-05 10:00:00", 30)
		}, []string{"B1"}, nil},
		{"a week's supply", func(w *world) {
			reference(w)
			buy(w, "B1", "P1", "2025-05-05 10:00:00", 6)
		}, nil, []string{"B1"}},
		{"a chronic patient's monthly purchases", func(w *world) {
			reference(w)
			for m := range 3 {
				buy(w, fmt.Sprintf("B%d", m), "P1", fmt.Sprintf("2025-%02d-05 10:00:00", 5+m), 30)
			}
		}, nil, []string{"B0", "B1", "B2"}},
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
