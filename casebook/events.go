package casebook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Event is one append-only record of a change to a case. Events form a hash
// chain: each hash covers the previous hash and the event's own fields, so
// an edited, deleted or reordered event breaks the chain.
type Event struct {
	Seq      int64     `json:"seq"` // 1, 2, 3… with no gaps
	CaseID   string    `json:"case_id"`
	Actor    string    `json:"actor"` // user id, or "system:<component>"
	Kind     string    `json:"kind"`  // e.g. opened, assigned, verdict, decided
	At       time.Time `json:"at"`
	Payload  string    `json:"payload"` // JSON object
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// genesis is the previous hash of the first event.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// computeHash returns the chain hash of e (which must have PrevHash set).
func (e Event) computeHash() string {
	h := sha256.New()
	for _, part := range []string{e.PrevHash, strconv.FormatInt(e.Seq, 10), e.CaseID, e.Actor, e.Kind,
		e.At.UTC().Format(time.RFC3339Nano), e.Payload} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Chain links e after prev (nil for the first event): it sets Seq,
// PrevHash and Hash.
func Chain(prev *Event, e Event) Event {
	e.Seq, e.PrevHash = 1, genesis
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Hash = e.computeHash()
	return e
}

// ChainError says where a chain is broken.
type ChainError struct {
	Seq    int64 // the first event that does not verify (or the missing one)
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit trail broken at event %d: %s", e.Seq, e.Reason)
}

// VerifyChain checks events in storage order against the chain and against
// the recorded head (the hash and sequence of the last event appended; pass
// headSeq 0 to skip that check). It detects edited fields, deleted or
// inserted events, reordering and a truncated tail.
func VerifyChain(events []Event, headSeq int64, headHash string) error {
	prev := genesis
	for i, e := range events {
		want := int64(i + 1)
		switch {
		case e.Seq != want:
			return &ChainError{Seq: want, Reason: fmt.Sprintf("found event %d where event %d belongs (deleted, inserted or reordered)", e.Seq, want)}
		case e.PrevHash != prev:
			return &ChainError{Seq: e.Seq, Reason: "does not link to the previous event"}
		case e.computeHash() != e.Hash:
			return &ChainError{Seq: e.Seq, Reason: "its content does not match its hash (edited)"}
		}
		prev = e.Hash
	}
	if headSeq > 0 {
		n := int64(len(events))
		if n != headSeq || (n > 0 && events[n-1].Hash != headHash) {
			return &ChainError{Seq: n + 1, Reason: fmt.Sprintf("the head records %d events, %d remain (tail deleted)", headSeq, n)}
		}
	}
	return nil
}
