package detectors

import (
	"context"
	"sync"

	"github.com/medaudit/medaudit/settlement"
)

// scanState is what the detectors of one scan share: intermediates that
// the first detector needing them computes once, and that go away with the
// scan (no package-global cache outlives it). A scan passes it to its
// detectors in the context (withScanState); a detector run outside a scan
// finds none and computes what it needs itself.
type scanState struct {
	mu          sync.Mutex
	fingerprint string                   // dataFingerprint, computed once
	recomputes  map[string][]*recomputed // recomputeDiffs by fingerprint and policy file
	// recomputeUsers is how many detectors of the scan read a recompute
	// (0: unknown, the result stays for the scan); once that many have
	// read it, the state lets it go (recomputeReads counts them).
	recomputeUsers int
	recomputeReads map[string]int
}

type scanStateKey struct{}

// withScanState returns ctx carrying a new state for one scan.
func withScanState(ctx context.Context) context.Context {
	return context.WithValue(ctx, scanStateKey{}, &scanState{recomputes: map[string][]*recomputed{}, recomputeReads: map[string]int{}})
}

// scanStateOf returns the scan's state, nil outside a scan.
func scanStateOf(ctx context.Context) *scanState {
	s, _ := ctx.Value(scanStateKey{}).(*scanState)
	return s
}

// expectRecomputeUsers tells the state how many detectors of the scan read
// the recompute, so that it holds the recompute's result (the claims that
// disagree: about 100 MB at 1 M persons) only until the last of them has it.
func (s *scanState) expectRecomputeUsers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recomputeUsers = n
}

// recomputeDiffs is the recompute of the settlements under ps, computed
// once per scan, data fingerprint and policy file for the five recompute
// detectors.
func (s *scanState) recomputeDiffs(ctx context.Context, q Querier, ps *settlement.PolicySet) ([]*recomputed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fingerprint == "" {
		fp, err := dataFingerprint(ctx, q)
		if err != nil {
			return nil, err
		}
		s.fingerprint = fp
	}
	key := s.fingerprint + "/" + ps.Info().SHA256
	d, ok := s.recomputes[key]
	if !ok {
		var err error
		if d, err = computeDiffs(ctx, q, ps); err != nil {
			return nil, err
		}
		s.recomputes[key] = d
	}
	if s.recomputeReads[key]++; s.recomputeUsers > 0 && s.recomputeReads[key] >= s.recomputeUsers {
		delete(s.recomputes, key)
	}
	return d, nil
}
