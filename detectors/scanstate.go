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
}

type scanStateKey struct{}

// withScanState returns ctx carrying a new state for one scan.
func withScanState(ctx context.Context) context.Context {
	return context.WithValue(ctx, scanStateKey{}, &scanState{recomputes: map[string][]*recomputed{}})
}

// scanStateOf returns the scan's state, nil outside a scan.
func scanStateOf(ctx context.Context) *scanState {
	s, _ := ctx.Value(scanStateKey{}).(*scanState)
	return s
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
	if d, ok := s.recomputes[key]; ok {
		return d, nil
	}
	d, err := computeDiffs(ctx, q, ps)
	if err != nil {
		return nil, err
	}
	s.recomputes[key] = d
	return d, nil
}
