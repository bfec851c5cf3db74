package casebook

import (
	"errors"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// Verdict is a reviewer's finding on a medical record.
type Verdict string

// Verdicts.
const (
	Violation    Verdict = "violation"     // 违规: with the violating amount
	NoViolation  Verdict = "no_violation"  // 未见违规
	NeedsRecords Verdict = "needs_records" // 需调取病历
)

// Valid reports whether v is a known verdict.
func (v Verdict) Valid() bool { return v == Violation || v == NoViolation || v == NeedsRecords }

// Review is one reviewer's assignment on a case and, once submitted, their
// verdict.
type Review struct {
	ExpertID        string
	Round           int // 1 for the two independent reviewers, 2 for the tie-breaker
	AssignedAt      time.Time
	DueAt           time.Time
	SubmittedAt     time.Time // zero while pending
	Verdict         Verdict
	ViolationAmount contract.Fen // the amount the reviewer finds in violation
	Comment         string
}

// Submitted reports whether the review has a verdict.
func (r Review) Submitted() bool { return !r.SubmittedAt.IsZero() }

// Review errors.
var (
	ErrNotAssigned      = errors.New("the reviewer is not assigned to this case")
	ErrAlreadySubmitted = errors.New("the verdict was already submitted")
	ErrBadVerdict       = errors.New("the verdict must be violation, no_violation or needs_records")
	ErrAmount           = errors.New("a violation needs a positive violating amount no larger than the amount at risk; other verdicts none")
)

// Submit records expertID's verdict in reviews.
func Submit(reviews []Review, expertID string, v Verdict, amount, atRisk contract.Fen, comment string, at time.Time) error {
	if !v.Valid() {
		return ErrBadVerdict
	}
	if (v == Violation) != (amount > 0) || amount > atRisk {
		return ErrAmount
	}
	for i := range reviews {
		if reviews[i].ExpertID != expertID {
			continue
		}
		if reviews[i].Submitted() {
			return ErrAlreadySubmitted
		}
		reviews[i].Verdict, reviews[i].ViolationAmount, reviews[i].Comment, reviews[i].SubmittedAt = v, amount, comment, at
		return nil
	}
	return ErrNotAssigned
}

// Outcome of a panel review.
type Outcome struct {
	Done       bool         // a final verdict stands
	NeedsThird bool         // the two independent verdicts disagree and no third is assigned yet
	Verdict    Verdict      // the panel's verdict when Done
	Amount     contract.Fen // the violating amount agreed (the lower of the agreeing reviewers')
	Agreement  bool         // the first two agreed
}

// Decide derives the panel's outcome: two agreeing first-round verdicts
// stand; a disagreement needs a third reviewer whose verdict, with the one
// it agrees with, decides; three different verdicts end as needs_records.
func Decide(reviews []Review) Outcome {
	var first []Review
	var third *Review
	for i := range reviews {
		switch reviews[i].Round {
		case 1:
			first = append(first, reviews[i])
		case 2:
			third = &reviews[i]
		}
	}
	if len(first) < 2 || !first[0].Submitted() || !first[1].Submitted() {
		return Outcome{}
	}
	if first[0].Verdict == first[1].Verdict {
		return Outcome{Done: true, Agreement: true, Verdict: first[0].Verdict, Amount: min(first[0].ViolationAmount, first[1].ViolationAmount)}
	}
	if third == nil {
		return Outcome{NeedsThird: true}
	}
	if !third.Submitted() {
		return Outcome{}
	}
	for _, f := range first {
		if f.Verdict == third.Verdict {
			return Outcome{Done: true, Verdict: third.Verdict, Amount: min(f.ViolationAmount, third.ViolationAmount)}
		}
	}
	return Outcome{Done: true, Verdict: NeedsRecords}
}

// VisibleReviews is what expertID may see of a case's reviews: their own
// review always; the others only once they have submitted their own verdict
// and both independent (first-round) verdicts are in. So neither first
// reviewer sees the other's verdict before submitting, and a tie-breaker sees
// nothing of the two until submitting too. An expert not assigned sees
// nothing.
func VisibleReviews(reviews []Review, expertID string) ([]Review, error) {
	own := -1
	for i := range reviews {
		if reviews[i].ExpertID == expertID {
			own = i
		}
	}
	if own < 0 {
		return nil, ErrNotAssigned
	}
	if ScoreVisible(reviews, expertID) {
		return append([]Review(nil), reviews...), nil
	}
	return []Review{reviews[own]}, nil
}

// ScoreVisible reports whether expertID may see the detector's score and
// the other verdicts: only after submitting their own and once both
// independent verdicts are in, so nothing can anchor a reviewer.
func ScoreVisible(reviews []Review, expertID string) bool {
	firstRound, ownDone := 0, false
	for _, r := range reviews {
		if r.Round == 1 && r.Submitted() {
			firstRound++
		}
		if r.ExpertID == expertID && r.Submitted() {
			ownDone = true
		}
	}
	return ownDone && firstRound >= 2
}

func (o Outcome) String() string {
	switch {
	case o.Done:
		return fmt.Sprintf("%s (%s)", o.Verdict, o.Amount)
	case o.NeedsThird:
		return "needs a third reviewer"
	}
	return "pending"
}
