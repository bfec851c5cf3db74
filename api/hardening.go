package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
)

// Security is how the server is reached and what it lets one client use.
type Security struct {
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For / X-Real-IP headers are believed. None by default: the
	// client address is the socket's, and a header cannot change it (so it
	// cannot reset the login limits).
	TrustedProxies []string
	// BehindTLS says that users reach the server over HTTPS (TLS ended here
	// or at a trusted proxy): cookies get the Secure flag and answers carry
	// Strict-Transport-Security.
	BehindTLS bool
	// Auth sets session and token lifetimes and the login throttle.
	Auth auth.Config
	// RatePerSecond and Burst bound each user's API requests (a token
	// bucket per user id); over it the answer is 429 with Retry-After.
	RatePerSecond float64
	Burst         int
	// UploadQuota bounds the bytes all uploads in flight may stage on disk
	// (decompressed); MaxUploads bounds how many are received at once.
	UploadQuota int64
	MaxUploads  int
	// CacheBytes bounds the bytes of answers the read cache holds.
	CacheBytes int64
	// PurgeEvery is how often expired sessions and old failed logins are
	// deleted (auth.Store.Purge).
	PurgeEvery time.Duration
}

// DefaultSecurity: no trusted proxy, no TLS, 50 requests a second per user
// with bursts of 300 (a reviewer's page makes a handful; a script paging
// through a month of flags a few dozen a second), 32 GiB of staged uploads,
// 2 uploads at once, 256 MiB of cached answers.
func DefaultSecurity() Security {
	return Security{Auth: auth.DefaultConfig(), RatePerSecond: 50, Burst: 300, UploadQuota: 32 << 30, MaxUploads: 2, CacheBytes: 256 << 20,
		PurgeEvery: time.Hour}
}

// Validate checks the settings.
func (s Security) Validate() error {
	var errs []error
	if s.RatePerSecond <= 0 || s.Burst < 1 {
		errs = append(errs, errors.New("rate limit: RatePerSecond > 0 and Burst ≥ 1"))
	}
	if s.UploadQuota < 1 || s.MaxUploads < 1 || s.CacheBytes < 1 || s.PurgeEvery <= 0 {
		errs = append(errs, errors.New("UploadQuota, MaxUploads, CacheBytes and PurgeEvery must be positive"))
	}
	if err := s.Auth.Throttle.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// WithSecurity replaces DefaultSecurity.
func WithSecurity(sec Security) Option {
	return func(s *Server) { s.sec.Security = sec }
}

// hardening is the server's state for its Security settings.
type hardening struct {
	Security
	limiter *limiter
	quota   *quota
	masker  *masker
}

// applySecurity sets the engine up for s.sec; New calls it after the
// options.
func (s *Server) applySecurity() error {
	if err := s.sec.Validate(); err != nil {
		return err
	}
	if err := s.engine.SetTrustedProxies(s.sec.TrustedProxies); err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	m, err := loadMasker(context.Background(), s.db.DB)
	if err != nil {
		return fmt.Errorf("pseudonym key: %w", err)
	}
	s.sec.masker = m
	s.sec.limiter = newLimiter(s.sec.RatePerSecond, s.sec.Burst)
	s.sec.quota = &quota{max: s.sec.UploadQuota, slots: make(chan struct{}, s.sec.MaxUploads)}
	s.readCache.maxBytes = s.sec.CacheBytes
	s.users = auth.NewStore(s.db.DB, s.now, s.sec.Auth)
	s.users.Audit = s.cases.Record
	s.jobs.wg.Add(1)
	go s.purge(s.jobs.ctx, s.sec.PurgeEvery)
	return nil
}

// purge deletes expired sessions and old failed logins every interval
// until the server closes.
func (s *Server) purge(ctx context.Context, every time.Duration) {
	defer s.jobs.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sessions, failures, err := s.users.Purge(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("purge sessions and failed logins", "err", err)
		}
		if sessions+failures > 0 {
			slog.Info("purged", "sessions", sessions, "login_failures", failures)
		}
	}
}

// nonceKey is where securityHeaders leaves the request's script nonce.
const nonceKey = "csp-nonce"

// securityHeaders sets headers every response carries. Scripts run only
// from the server or with the request's nonce: no inline script an
// attacker injects can run.
func (s *Server) securityHeaders(c *gin.Context) {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b) // no + or /: nothing for html/template to escape
	c.Set(nonceKey, nonce)
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'nonce-"+nonce+
		"'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	if s.sec.BehindTLS {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	c.Next()
}

// nonce is the request's CSP script nonce, for the pages' own scripts.
func nonce(c *gin.Context) string { return c.GetString(nonceKey) }

// reportCSP is the policy of report HTML served by the application: the
// report runs sandboxed in an opaque origin (its inline chart script may
// run, but it cannot read the application's cookies, call its API, submit
// forms or navigate the page), and loads nothing from anywhere.
const reportCSP = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

// secureCookies reports whether cookies must carry the Secure flag.
func (s *Server) secureCookies(c *gin.Context) bool { return s.sec.BehindTLS || c.Request.TLS != nil }

// sameToken compares secrets in constant time.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// retryAfter sets Retry-After in whole seconds (at least 1).
func retryAfter(c *gin.Context, d time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// limiter is a token bucket per user id.
type limiter struct {
	rate  float64 // tokens a second
	burst float64
	mu    sync.Mutex
	bkt   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), bkt: map[string]*bucket{}}
}

// take spends one token of key's bucket at now, or says how long until one
// is there.
func (l *limiter) take(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bkt[key]
	if b == nil {
		if len(l.bkt) > 100_000 { // forget idle users rather than grow without bound
			for k, x := range l.bkt {
				if now.Sub(x.at).Seconds()*l.rate >= l.burst {
					delete(l.bkt, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.bkt[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// rateLimit answers 429 with Retry-After to a user over their API rate.
func (s *Server) rateLimit(c *gin.Context) {
	wait, ok := s.sec.limiter.take(currentUser(c).ID, time.Now())
	if !ok {
		retryAfter(c, wait)
		s.fail(c, &Error{Code: CodeRateLimited, Message: "too many requests: slow down and retry after the time in Retry-After"})
		return
	}
	c.Next()
}

// quota is the disk budget of uploads in flight and the number received
// at once.
type quota struct {
	max   int64
	slots chan struct{}
	mu    sync.Mutex
	used  int64
}

// errQuota refuses an upload when the staging budget is spent.
var errQuota = &Error{Code: CodeRateLimited, Message: "the upload space is full with uploads being loaded: retry later"}

// reserve charges n bytes, or refuses when they do not fit.
func (q *quota) reserve(n int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.used+n > q.max {
		return false
	}
	q.used += n
	return true
}

func (q *quota) release(n int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.used -= n
}

// Used is the bytes staged by uploads in flight.
func (q *quota) Used() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used
}

// quotaWriter writes to w, charging every byte to q first.
type quotaWriter struct {
	w       interface{ Write([]byte) (int, error) }
	q       *quota
	charged *int64
}

func (w quotaWriter) Write(b []byte) (int, error) {
	if !w.q.reserve(int64(len(b))) {
		return 0, errQuota
	}
	*w.charged += int64(len(b))
	return w.w.Write(b)
}

// admitUpload refuses an upload before any byte of it is stored: when the
// writer is busy, when MaxUploads are being received, or when its declared
// length does not fit in what is left of the quota. It returns the
// function that frees the upload's slot.
func (s *Server) admitUpload(c *gin.Context) (func(), error) {
	if busy, ok := s.writer.Busy(); ok {
		retryAfter(c, 10*time.Second)
		return nil, &Error{Code: CodeConflict, Message: "the database is busy (" + busy + "); retry when it has finished"}
	}
	select {
	case s.sec.quota.slots <- struct{}{}:
	default:
		retryAfter(c, 10*time.Second)
		return nil, &Error{Code: CodeRateLimited, Message: "other uploads are being received: retry later"}
	}
	free := func() { <-s.sec.quota.slots }
	if n := c.Request.ContentLength; n > 0 && n > s.sec.quota.max-s.sec.quota.Used() {
		free()
		retryAfter(c, time.Minute)
		return nil, errQuota
	}
	return free, nil
}

// Busy says what holds the writer, if anything, without taking it.
func (w *Writer) Busy() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running, w.running != ""
}

// rateLimitedLogin answers a refused login: 429 with Retry-After and the
// sign-in page saying why.
func (s *Server) rateLimitedLogin(c *gin.Context, err error) bool {
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) {
		return false
	}
	retryAfter(c, rl.RetryAfter)
	c.Status(http.StatusTooManyRequests)
	s.render(c, "login.html", gin.H{"Error": "rate"})
	return true
}

// PeakHashes is the most password hashes that have run at once (for
// monitoring the login throttle's cap).
func (s *Server) PeakHashes() int64 { return s.users.PeakHashes() }
