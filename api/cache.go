package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
)

// The server is the database's only writer (DuckDB allows one writing
// process), so it knows when data may have changed: every request that is
// not a GET, every background job and every other in-process writer
// (through Writer.Release) bumps a version. Answers of read-only API routes
// are kept for the version they were computed at, so repeated reads of a
// case file or a flag page cost no query until something is written.
// DuckDB is built for scans, not thousands of point queries a second; this
// is what lets the API serve the review panel and the auditors at load.

// version counts writes.
type version struct{ n atomic.Uint64 }

func (v *version) bump()       { v.n.Add(1) }
func (v *version) get() uint64 { return v.n.Load() }

// readCache holds answers by key for the version they were computed at.
type readCache struct {
	mu       sync.Mutex
	entries  map[string]cacheEntry
	max      int    // entries
	maxBytes int64  // bytes of keys and bodies; 0: unbounded
	bytes    int64  // held now
	top      uint64 // the newest version put
	stale    bool   // entries of older versions than top may be held
}

type cacheEntry struct {
	version uint64
	expires time.Time // zero: until the next write
	status  int
	header  http.Header // Content-Type, Content-Disposition
	body    []byte
	user    auth.User
}

func newReadCache(max int) *readCache {
	return &readCache{entries: map[string]cacheEntry{}, max: max}
}

func (c *readCache) get(key string, v uint64, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != v || (!e.expires.IsZero() && now.After(e.expires)) {
		return e, false
	}
	return e, true
}

func (c *readCache) put(key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(len(key) + len(e.body))
	if c.maxBytes > 0 && size > c.maxBytes {
		return
	}
	c.drop(key)
	if e.version > c.top {
		c.top, c.stale = e.version, len(c.entries) > 0
	}
	full := func() bool { return len(c.entries) >= c.max || (c.maxBytes > 0 && c.bytes+size > c.maxBytes) }
	if full() {
		// Answers of an older version are dead: they go first, then any
		// (map order is random) until the new answer fits.
		if c.stale {
			for k, old := range c.entries {
				if old.version < c.top {
					c.drop(k)
				}
			}
			c.stale = false
		}
		for k := range c.entries {
			if !full() {
				break
			}
			c.drop(k)
		}
	}
	c.entries[key] = e
	c.bytes += size
}

// drop removes key and its bytes.
func (c *readCache) drop(key string) {
	if old, ok := c.entries[key]; ok {
		c.bytes -= int64(len(key) + len(old.body))
		delete(c.entries, key)
	}
}

// authTTL bounds how long a resolved session or token is trusted without
// asking the database again (sign-outs and password changes are writes and
// end it at once).
const authTTL = 30 * time.Second

// secretKey is the cache key of a credential: its hash, never the secret.
func secretKey(kind, secret string) string {
	h := sha256.Sum256([]byte(secret))
	return kind + ":" + hex.EncodeToString(h[:])
}

// viewKey names what a user may see: two users with the same role,
// districts and expert id get the same answers.
func viewKey(u auth.User) string {
	d := slices.Clone(u.Districts)
	slices.Sort(d)
	return u.Role + "|" + strings.Join(d, ",") + "|" + u.ExpertID
}

// trackWrites bumps the version after every request that may write.
func (s *Server) trackWrites(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	c.Next()
	s.version.bump()
}

// bodyRecorder keeps a copy of what a handler writes.
type bodyRecorder struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (r *bodyRecorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// cacheReads serves the API's GET routes from the cache when the data has
// not changed since the answer was computed for a user who sees the same
// (same role, districts and expert id; so the same access decisions too).
func (s *Server) cacheReads(c *gin.Context) {
	if c.Request.Method != http.MethodGet {
		c.Next()
		return
	}
	v := s.version.get()
	key := "GET " + c.Request.URL.Path + "?" + c.Request.URL.RawQuery + "#" + viewKey(currentUser(c))
	if e, ok := s.readCache.get(key, v, time.Time{}); ok {
		e.write(c)
		return
	}
	// Concurrent misses of one key wait for the first to compute it.
	leader := false
	res, _, _ := s.flight.Do(key+"@"+strconv.FormatUint(v, 10), func() (any, error) {
		leader = true
		// Others wait on this answer: a client hanging up must not cancel it.
		c.Request = c.Request.WithContext(context.WithoutCancel(c.Request.Context()))
		rec := &bodyRecorder{ResponseWriter: c.Writer}
		c.Writer = rec
		c.Next()
		h := http.Header{}
		for _, k := range []string{"Content-Type", "Content-Disposition", "Cache-Control"} {
			if x := rec.Header().Get(k); x != "" {
				h.Set(k, x)
			}
		}
		e := cacheEntry{version: v, status: rec.Status(), header: h, body: rec.buf.Bytes()}
		if cacheable[e.status] && len(e.body) < 1<<20 {
			s.readCache.put(key, e)
		}
		return e, nil
	})
	if !leader {
		res.(cacheEntry).write(c)
	}
}

func (e cacheEntry) write(c *gin.Context) {
	for k, v := range e.header {
		c.Header(k, v[0])
	}
	c.Status(e.status)
	c.Writer.Write(e.body)
	c.Abort()
}

// cacheable are the statuses whose answers only a write can change.
var cacheable = map[int]bool{http.StatusOK: true, http.StatusBadRequest: true, http.StatusForbidden: true, http.StatusNotFound: true}

// stampCache keeps the stamp of the stored case files (the last ingest run
// and scan) for the version it was read at: only a write can move it, so a
// case file costs one lookup by key until the next write.
type stampCache struct {
	mu      sync.Mutex
	ok      bool
	version uint64
	stamp   casebook.Stamp
}

// caseFileStamp returns the current stamp of the stored case files.
func (s *Server) caseFileStamp(ctx context.Context) (casebook.Stamp, error) {
	v := s.version.get() // read first: a write during the read below leaves the next version to read it again
	c := &s.fileStamp
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.version == v {
		return c.stamp, nil
	}
	st, err := s.cases.Stamp(ctx)
	if err != nil {
		return st, err
	}
	c.ok, c.version, c.stamp = true, v, st
	return st, nil
}
