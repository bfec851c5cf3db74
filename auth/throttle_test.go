package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

// throttled is a store with the given throttle and a settable clock.
func throttled(t *testing.T, tc auth.ThrottleConfig) (*auth.Store, *time.Time) {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cfg := auth.DefaultConfig()
	cfg.Throttle = tc
	s := auth.NewStore(db.DB, func() time.Time { return now }, cfg)
	if err := s.CreateUser(context.Background(), auth.User{ID: "rev01", Role: auth.Reviewer, Districts: []string{"*"}}, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	return s, &now
}

// TestAccountDelayIsBounded: failures on an account delay its next attempt
// exponentially, but never longer than AccountMaxDelay for another client;
// the attacker's own client waits up to PairMaxDelay; the real password
// after the delay works and clears the count.
func TestAccountDelayIsBounded(t *testing.T) {
	ctx := context.Background()
	s, now := throttled(t, auth.DefaultThrottleConfig())
	var waits []time.Duration
	for i := 0; i < 12; i++ {
		_, _, err := s.Login(ctx, "rev01", "guess", "10.0.0.66")
		var rl *auth.RateLimitError
		if errors.As(err, &rl) {
			waits = append(waits, rl.RetryAfter)
			*now = now.Add(rl.RetryAfter)
			i--
			if len(waits) > 40 {
				t.Fatal("no progress")
			}
			continue
		}
		if !errors.Is(err, auth.ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// 3 free failures, then 1 s, 2 s, 4 s, … for the attacker's client.
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256}
	if len(waits) != len(want) {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range want {
		if waits[i] != w*time.Second {
			t.Errorf("wait %d = %s, want %s", i, waits[i], w*time.Second)
		}
	}
	// The real user, from their own address, waits at most 30 s.
	_, _, err := s.Login(ctx, "rev01", "long enough pw", "10.1.1.1")
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter > 30*time.Second {
		t.Fatalf("real user: %v", err)
	}
	*now = now.Add(rl.RetryAfter)
	if _, _, err := s.Login(ctx, "rev01", "long enough pw", "10.1.1.1"); err != nil {
		t.Fatalf("real user after the documented delay: %v", err)
	}
	// The attacker's client stays delayed on that account (up to 15 min),
	// but the account's own count was cleared.
	if _, _, err := s.Login(ctx, "rev01", "guess", "10.1.1.2"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("a fresh client after success: %v", err)
	}
}

// TestClientLimit: one client address gets ClientMaxFailures failures per
// window, whatever accounts it tries.
func TestClientLimit(t *testing.T) {
	ctx := context.Background()
	tc := auth.DefaultThrottleConfig()
	tc.ClientMaxFailures = 5
	s, now := throttled(t, tc)
	for i := 0; i < 5; i++ {
		if _, _, err := s.Login(ctx, fmt.Sprintf("nobody%d", i), "guess", "10.0.0.9"); !errors.Is(err, auth.ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "rev01", "long enough pw", "10.0.0.9"); !errors.Is(err, auth.ErrRateLimited) {
		t.Errorf("6th attempt from the client: %v", err)
	}
	if _, _, err := s.Login(ctx, "rev01", "long enough pw", "10.0.0.10"); err != nil {
		t.Errorf("another client: %v", err)
	}
	*now = now.Add(16 * time.Minute)
	if _, _, err := s.Login(ctx, "rev01", "long enough pw", "10.0.0.9"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestParallelBurstIsAtomic: 200 parallel wrong passwords for one account
// from one client run at most FreeFailures hashes; the rest are refused
// without one.
func TestParallelBurstIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, _ := throttled(t, auth.DefaultThrottleConfig())
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Login(ctx, "rev01", "guess", "10.0.0.66")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, auth.ErrBadLogin):
				counts["bad"]++
			case errors.Is(err, auth.ErrRateLimited):
				counts["limited"]++
			default:
				counts[fmt.Sprint(err)]++
			}
		}()
	}
	wg.Wait()
	if counts["bad"] != 3 || counts["limited"] != 197 {
		t.Errorf("outcomes %v, want 3 hashed and 197 refused", counts)
	}
	if p := s.PeakHashes(); p > 3 {
		t.Errorf("peak hashes %d", p)
	}
}

// TestUnknownUserCostsAHash: a login for an unknown user takes as long as
// a wrong password for a known one (both run one argon2id hash), so user
// ids cannot be told apart by timing. Medians of interleaved runs must be
// within 25% (a skipped hash would be 100× faster).
func TestUnknownUserCostsAHash(t *testing.T) {
	ctx := context.Background()
	tc := auth.DefaultThrottleConfig()
	tc.FreeFailures, tc.ClientMaxFailures = 1000, 1000
	s, _ := throttled(t, tc)
	var known, unknown []time.Duration
	for i := 0; i < 15; i++ {
		for _, c := range []struct {
			user string
			into *[]time.Duration
		}{{"rev01", &known}, {fmt.Sprintf("ghost%d", i), &unknown}} {
			start := time.Now()
			if _, _, err := s.Login(ctx, c.user, "wrong password", "10.0.0.1"); !errors.Is(err, auth.ErrBadLogin) {
				t.Fatal(err)
			}
			*c.into = append(*c.into, time.Since(start))
		}
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median known %s unknown %s", mk, mu)
	if r := float64(mu) / float64(mk); r < 0.75 || r > 1.33 {
		t.Errorf("unknown/known timing ratio %.2f (known %s, unknown %s)", r, mk, mu)
	}
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// TestHashCap: logins from many clients for many accounts never run more
// than MaxHashes hashes at once; those that cannot get a slot in time are
// refused as busy.
func TestHashCap(t *testing.T) {
	ctx := context.Background()
	tc := auth.DefaultThrottleConfig()
	tc.MaxHashes, tc.QueueWait = 2, 300*time.Millisecond
	s, _ := throttled(t, tc)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Login(ctx, fmt.Sprintf("user%d", i), "guess", fmt.Sprintf("10.0.%d.%d", i/250, i%250))
			var rl *auth.RateLimitError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, auth.ErrBadLogin):
				counts["bad"]++
			case errors.As(err, &rl) && rl.Busy:
				counts["busy"]++
			default:
				counts[fmt.Sprint(err)]++
			}
		}()
	}
	wg.Wait()
	t.Logf("outcomes %v", counts)
	if counts["bad"]+counts["busy"] != 200 || counts["busy"] == 0 {
		t.Errorf("outcomes %v", counts)
	}
	if p := s.PeakHashes(); p != 2 {
		t.Errorf("peak hashes %d, want 2", p)
	}
}
