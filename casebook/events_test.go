package casebook

import (
	"errors"
	"testing"
	"time"
)

func chainOf(n int) []Event {
	var out []Event
	var prev *Event
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		e := Chain(prev, Event{CaseID: "C1", Actor: "u1", Kind: "note", At: t0.Add(time.Duration(i) * time.Minute), Payload: `{"i":` + string(rune('0'+i)) + `}`})
		out = append(out, e)
		prev = &out[len(out)-1]
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	good := chainOf(5)
	head := good[4]
	tests := []struct {
		name    string
		mutate  func([]Event) []Event
		wantSeq int64
	}{
		{"intact", func(es []Event) []Event { return es }, 0},
		{"edited payload", func(es []Event) []Event { es[2].Payload = `{"i":9}`; return es }, 3},
		{"edited actor", func(es []Event) []Event { es[1].Actor = "mallory"; return es }, 2},
		{"edited time", func(es []Event) []Event { es[3].At = es[3].At.Add(time.Second); return es }, 4},
		{"deleted middle", func(es []Event) []Event { return append(es[:2:2], es[3:]...) }, 3},
		{"reordered", func(es []Event) []Event { es[1], es[2] = es[2], es[1]; return es }, 2},
		{"deleted tail", func(es []Event) []Event { return es[:4] }, 5},
		{"rehashed edit", func(es []Event) []Event {
			es[2].Payload = `{"i":9}`
			es[2].Hash = es[2].computeHash() // the next event no longer links
			return es
		}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es := tc.mutate(append([]Event(nil), good...))
			err := VerifyChain(es, head.Seq, head.Hash)
			var ce *ChainError
			if tc.wantSeq == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &ce) || ce.Seq != tc.wantSeq {
				t.Errorf("err = %v, want a break at %d", err, tc.wantSeq)
			}
		})
	}
}
