package casebook_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
)

// TestConcurrentWritersShareTheTrail: writers in one process, through two
// stores, append to the trail at the same time; every write succeeds and
// the chain verifies (DuckDB alone would fail all but one of concurrent
// appenders on the head's sequence number).
func TestConcurrentWritersShareTheTrail(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	other := casebook.NewStore(db.DB, time.Now)
	before, err := s.VerifyTrail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- st.AddExpert(ctx, "system:test", casebook.Expert{ID: fmt.Sprintf("dr_c%02d", i), Name: "并发专家",
				Specialties: []string{casebook.Internal}, HomeOrg: "H33010200199", District: "330102", WeeklyCapacity: 5})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n, err := s.VerifyTrail(ctx); err != nil || n != before+writers {
		t.Errorf("trail after concurrent writes: %d events (want %d), %v", n, before+writers, err)
	}
}
