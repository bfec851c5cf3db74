package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Login throttling. Three guards, none of which an attacker can turn
// against a user or the server:
//
//   - A global cap on concurrent password hashes. Each argon2id check holds
//     19 MiB; a login waits at most QueueWait for one of MaxHashes slots and
//     is otherwise refused as busy (HTTP 429), so a burst of logins cannot
//     exhaust memory.
//   - Per-account exponential delay, not a lock-out: after FreeFailures
//     failed attempts, the next attempt on the account is refused without a
//     hash until BaseDelay·2^(n−FreeFailures) has passed since the last one,
//     the delay capped at AccountMaxDelay for attempts from other clients
//     (so a stranger hammering "rev01" delays the real rev01 by at most
//     AccountMaxDelay after their last try) and at PairMaxDelay for the same
//     client. A success clears the account's count.
//   - Per-client limits: ClientMaxFailures failed attempts per Window from
//     one client address, whatever the account.
//
// Accounting is atomic: an attempt is counted (as a pending failure) under
// one lock before its hash runs, so a parallel burst cannot slip past the
// limits. Unknown and disabled users cost the same hash as known ones.
type ThrottleConfig struct {
	MaxHashes         int           // concurrent argon2id checks (each holds 19 MiB)
	QueueWait         time.Duration // longest wait for a hash slot before "busy"
	FreeFailures      int           // failed attempts on an account before delays start
	BaseDelay         time.Duration // first delay; doubles with each further failure
	AccountMaxDelay   time.Duration // cap of an account's delay, whatever the client
	PairMaxDelay      time.Duration // cap of the delay of one client on one account
	ClientMaxFailures int           // failed attempts per Window from one client address
	Window            time.Duration // the per-client window and how long failures count
}

// DefaultThrottleConfig: 4 concurrent hashes (76 MiB), 2 s queue; delays
// from the 4th failure: 1 s, 2 s, 4 s … up to 30 s for the account and
// 15 min for the client that failed; 30 failures per client per 15 min.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{MaxHashes: 4, QueueWait: 2 * time.Second, FreeFailures: 3, BaseDelay: time.Second,
		AccountMaxDelay: 30 * time.Second, PairMaxDelay: 15 * time.Minute, ClientMaxFailures: 30, Window: 15 * time.Minute}
}

// Validate checks the limits are usable.
func (c ThrottleConfig) Validate() error {
	if c.MaxHashes < 1 || c.QueueWait <= 0 || c.FreeFailures < 0 || c.BaseDelay <= 0 || c.AccountMaxDelay < c.BaseDelay ||
		c.PairMaxDelay < c.AccountMaxDelay || c.ClientMaxFailures < 1 || c.Window <= 0 {
		return fmt.Errorf("login throttle: need MaxHashes ≥ 1, positive QueueWait, BaseDelay and Window, BaseDelay ≤ AccountMaxDelay ≤ PairMaxDelay, ClientMaxFailures ≥ 1: %+v", c)
	}
	return nil
}

// RateLimitError refuses a login for a while; errors.Is(err,
// ErrRateLimited) holds.
type RateLimitError struct {
	RetryAfter time.Duration // when the attempt may be made again
	Busy       bool          // the server is at its hash cap (not the account's fault)
}

func (e *RateLimitError) Error() string {
	if e.Busy {
		return "too many sign-ins at once: try again in a moment"
	}
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// failures counts failed (or pending) attempts and when the last began.
type failures struct {
	n    int
	last time.Time
}

// throttle holds the login accounting in memory: the process is the
// database's only writer, so it sees every login.
type throttle struct {
	cfg    ThrottleConfig
	hashes chan struct{}
	active atomic.Int64 // hashes running now
	peak   atomic.Int64 // most hashes ever running at once

	mu       sync.Mutex
	accounts map[string]*failures // by user id
	pairs    map[string]*failures // by user id + client
	clients  map[string][]time.Time
}

func newThrottle(cfg ThrottleConfig) *throttle {
	return &throttle{cfg: cfg, hashes: make(chan struct{}, cfg.MaxHashes), accounts: map[string]*failures{},
		pairs: map[string]*failures{}, clients: map[string][]time.Time{}}
}

// delay is the wait after n failures, capped.
func (t *throttle) delay(n int, max time.Duration) time.Duration {
	k := n - t.cfg.FreeFailures
	if k < 0 {
		return 0
	}
	d := t.cfg.BaseDelay
	for ; k > 0 && d < max; k-- {
		d *= 2
	}
	return min(d, max)
}

// wait returns how long f's owner must still wait at now.
func (t *throttle) wait(f *failures, max time.Duration, now time.Time) time.Duration {
	if f == nil {
		return 0
	}
	return max0(f.last.Add(t.delay(f.n, max)).Sub(now))
}

func max0(d time.Duration) time.Duration { return max(d, 0) }

// admit counts an attempt on user from client as a pending failure, or
// refuses it with how long to wait.
func (t *throttle) admit(user, client string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pair := user + "\x00" + client
	recent := t.clients[client][:0]
	for _, at := range t.clients[client] {
		if now.Sub(at) < t.cfg.Window {
			recent = append(recent, at)
		}
	}
	t.clients[client] = recent
	wait := max(t.wait(t.accounts[user], t.cfg.AccountMaxDelay, now), t.wait(t.pairs[pair], t.cfg.PairMaxDelay, now))
	if len(recent) >= t.cfg.ClientMaxFailures {
		wait = max(wait, recent[0].Add(t.cfg.Window).Sub(now))
	}
	if wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	t.count(t.accounts, user, now)
	t.count(t.pairs, pair, now)
	t.clients[client] = append(t.clients[client], now)
	return nil
}

func (t *throttle) count(m map[string]*failures, key string, now time.Time) {
	f := m[key]
	if f == nil {
		f = &failures{}
		m[key] = f
	}
	f.n++
	f.last = now
}

// succeeded clears the account's failures after a correct password: the
// pending attempt was not a failure.
func (t *throttle) succeeded(user, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, user)
	delete(t.pairs, user+"\x00"+client)
	if r := t.clients[client]; len(r) > 0 {
		t.clients[client] = r[:len(r)-1]
	}
}

// hash runs f holding one of the hash slots, waiting at most QueueWait.
func (t *throttle) hash(ctx context.Context, f func()) error {
	timer := time.NewTimer(t.cfg.QueueWait)
	defer timer.Stop()
	select {
	case t.hashes <- struct{}{}:
	case <-timer.C:
		return &RateLimitError{RetryAfter: time.Second, Busy: true}
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.hashes }()
	n := t.active.Add(1)
	defer t.active.Add(-1)
	for p := t.peak.Load(); n > p && !t.peak.CompareAndSwap(p, n); p = t.peak.Load() {
	}
	f()
	return nil
}

// forget drops accounting that no longer delays anyone.
func (t *throttle) forget(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range []map[string]*failures{t.accounts, t.pairs} {
		for k, f := range m {
			if now.Sub(f.last) > t.cfg.PairMaxDelay+t.cfg.Window {
				delete(m, k)
			}
		}
	}
	for k, r := range t.clients {
		if len(r) == 0 || now.Sub(r[len(r)-1]) >= t.cfg.Window {
			delete(t.clients, k)
		}
	}
}
