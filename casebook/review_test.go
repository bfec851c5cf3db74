package casebook

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestBlindDoubleReview(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := []Review{{ExpertID: "a", Round: 1}, {ExpertID: "b", Round: 1}}
	if err := Submit(rs, "z", Violation, 100, 1000, "", at); !errors.Is(err, ErrNotAssigned) {
		t.Errorf("unassigned: %v", err)
	}
	if err := Submit(rs, "a", Violation, 0, 1000, "", at); !errors.Is(err, ErrAmount) {
		t.Errorf("violation without amount: %v", err)
	}
	if err := Submit(rs, "a", Violation, 2000, 1000, "", at); !errors.Is(err, ErrAmount) {
		t.Errorf("amount above risk: %v", err)
	}
	if err := Submit(rs, "a", "maybe", 0, 1000, "", at); !errors.Is(err, ErrBadVerdict) {
		t.Errorf("bad verdict: %v", err)
	}
	if err := Submit(rs, "a", Violation, 800, 1000, "挂床", at); err != nil {
		t.Fatal(err)
	}
	// b cannot see a's verdict nor the score before submitting.
	vis, err := VisibleReviews(rs, "b")
	if err != nil || len(vis) != 1 || vis[0].ExpertID != "b" || vis[0].Submitted() {
		t.Errorf("b sees %+v", vis)
	}
	if ScoreVisible(rs, "a") || ScoreVisible(rs, "b") {
		t.Error("score visible before both verdicts")
	}
	if o := Decide(rs); o.Done || o.NeedsThird {
		t.Errorf("outcome before b: %v", o)
	}
	if err := Submit(rs, "b", NoViolation, 0, 1000, "", at); err != nil {
		t.Fatal(err)
	}
	if err := Submit(rs, "b", Violation, 10, 1000, "", at); !errors.Is(err, ErrAlreadySubmitted) {
		t.Errorf("resubmit: %v", err)
	}
	if vis, _ := VisibleReviews(rs, "b"); len(vis) != 2 || !ScoreVisible(rs, "b") {
		t.Errorf("after both: %+v", vis)
	}
	o := Decide(rs)
	if !o.NeedsThird || o.Done {
		t.Fatalf("disagreement: %v", o)
	}
	rs = append(rs, Review{ExpertID: "c", Round: 2})
	if vis, _ := VisibleReviews(rs, "c"); len(vis) != 1 || ScoreVisible(rs, "c") {
		t.Errorf("third reviewer sees %+v before submitting", vis)
	}
	if err := Submit(rs, "c", Violation, 600, 1000, "", at); err != nil {
		t.Fatal(err)
	}
	if o := Decide(rs); !o.Done || o.Verdict != Violation || o.Amount != 600 || o.Agreement {
		t.Errorf("with third: %v", o)
	}
	// Agreement: the lower amount stands.
	rs2 := []Review{{ExpertID: "a", Round: 1}, {ExpertID: "b", Round: 1}}
	Submit(rs2, "a", Violation, 800, 1000, "", at)
	Submit(rs2, "b", Violation, 500, 1000, "", at)
	if o := Decide(rs2); !o.Done || !o.Agreement || o.Amount != 500 {
		t.Errorf("agreement: %v", o)
	}
	// Three different verdicts.
	rs3 := []Review{{ExpertID: "a", Round: 1}, {ExpertID: "b", Round: 1}, {ExpertID: "c", Round: 2}}
	Submit(rs3, "a", Violation, 100, 1000, "", at)
	Submit(rs3, "b", NoViolation, 0, 1000, "", at)
	Submit(rs3, "c", NeedsRecords, 0, 1000, "", at)
	if o := Decide(rs3); !o.Done || o.Verdict != NeedsRecords {
		t.Errorf("three-way: %v", o)
	}
}

func TestKappa(t *testing.T) {
	// Classic example: 50 items, 20 yes/yes, 15 no/no, 5 yes/no, 10 no/yes.
	var a, b []Verdict
	add := func(n int, x, y Verdict) {
		for i := 0; i < n; i++ {
			a, b = append(a, x), append(b, y)
		}
	}
	add(20, Violation, Violation)
	add(15, NoViolation, NoViolation)
	add(5, Violation, NoViolation)
	add(10, NoViolation, Violation)
	// po = 0.7; pe = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.4
	if k := Kappa(a, b); math.Abs(k-0.4) > 1e-12 {
		t.Errorf("kappa = %g, want 0.4", k)
	}
	if k := Kappa([]Verdict{Violation, Violation}, []Verdict{Violation, Violation}); k != 1 {
		t.Errorf("unanimous single category: %g", k)
	}
	if k := Kappa(nil, nil); k != 0 {
		t.Errorf("empty: %g", k)
	}
}
