package casebook

import (
	"errors"
	"testing"
)

func TestSpecialty(t *testing.T) {
	tests := []struct {
		r    Record
		want string
	}{
		{Record{Diagnosis: "O80.000"}, Obstetrics},
		{Record{Diagnosis: "N83.200"}, Obstetrics},
		{Record{Diagnosis: "C53.900"}, Obstetrics},
		{Record{Diagnosis: "N18.500"}, Internal},
		{Record{Diagnosis: "S72.000"}, Orthopedics},
		{Record{Diagnosis: "M17.900", Surgery: true}, Orthopedics},
		{Record{Diagnosis: "M54.500"}, Internal},
		{Record{Diagnosis: "K80.200", Surgery: true}, Surgery},
		{Record{Diagnosis: "K80.200", OrthoImplant: true}, Orthopedics},
		{Record{Diagnosis: "F20.900"}, Psychiatry},
		{Record{Diagnosis: "I69.300", RehabService: true}, Rehab},
		{Record{Diagnosis: "J18.900"}, Internal},
		{Record{}, Internal},
	}
	for _, tc := range tests {
		if got := Specialty(tc.r); got != tc.want {
			t.Errorf("Specialty(%+v) = %s, want %s", tc.r, got, tc.want)
		}
	}
}

func TestPick(t *testing.T) {
	experts := []Expert{
		{ID: "e1", Specialties: []string{Internal}, HomeOrg: "H33010600001", District: "330106", WeeklyCapacity: 10, Active: true},
		{ID: "e2", Specialties: []string{Internal}, HomeOrg: "H33010200001", District: "330102", WeeklyCapacity: 10, Active: true},
		{ID: "e3", Specialties: []string{Internal, Surgery}, HomeOrg: "H33010500001", District: "330105", WeeklyCapacity: 10, Load: 9, Active: true},
		{ID: "e4", Specialties: []string{Internal}, HomeOrg: "H33010800001", District: "330108", WeeklyCapacity: 10, Load: 2, Active: true},
		{ID: "e5", Specialties: []string{Internal}, HomeOrg: "H33011000001", District: "330110", WeeklyCapacity: 4, Load: 4, Active: true},
		{ID: "e6", Specialties: []string{Internal}, HomeOrg: "H33011200001", District: "330112", WeeklyCapacity: 10, Active: false},
		{ID: "e7", Specialties: []string{Obstetrics}, HomeOrg: "H33011300001", District: "330106", WeeklyCapacity: 10, Active: true},
	}
	// A case at a hospital in 330106: e1 works in the district (and e7 too),
	// e5 is full, e6 inactive.
	got, gap, err := Pick(experts, "C1", Internal, "H33010699999", "330106", nil, 2)
	if err != nil || gap {
		t.Fatal(err, gap)
	}
	if got[0].ID != "e2" || got[1].ID != "e4" {
		t.Errorf("picked %s, %s; want the least loaded eligible e2, e4", got[0].ID, got[1].ID)
	}
	for _, e := range got {
		if e.Conflicted("H33010699999", "330106") {
			t.Errorf("conflicted reviewer %s", e.ID)
		}
	}
	// Third reviewer: the first two are excluded.
	third, _, err := Pick(experts, "C1", Internal, "H33010699999", "330106", map[string]bool{"e2": true, "e4": true}, 1)
	if err != nil || third[0].ID != "e3" {
		t.Errorf("third = %v, %v", third, err)
	}
	// Obstetrics: the only obstetrician is conflicted: internal medicine
	// stands in and the gap is reported.
	got, gap, err = Pick(experts, "C2", Obstetrics, "H33010699999", "330106", nil, 2)
	if err != nil || !gap || got[0].has(Obstetrics) {
		t.Errorf("gap fallback: %v %v %v", got, gap, err)
	}
	if _, _, err := Pick(experts, "C3", Internal, "H33010699999", "330106", map[string]bool{"e2": true, "e3": true, "e4": true}, 1); !errors.Is(err, ErrNoReviewer) {
		t.Errorf("err = %v", err)
	}
}
