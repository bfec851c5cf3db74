// Package auth authenticates the people who use the service — password
// login with sessions for the web pages, bearer tokens for API clients — and
// holds their role and the districts they may see.
//
// Passwords are hashed with argon2id (memory-hard); session and API tokens
// are 256-bit random values stored as SHA-256 hashes. Failed logins are
// rate-limited per user and per client address.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Roles.
const (
	Auditor    = "auditor"
	Reviewer   = "reviewer"
	Supervisor = "supervisor"
	Admin      = "admin"
)

// Roles lists the valid roles.
var Roles = []string{Auditor, Reviewer, Supervisor, Admin}

// User is an authenticated person.
type User struct {
	ID        string   `json:"user_id"`
	Name      string   `json:"display_name"`
	Role      string   `json:"role"`
	Districts []string `json:"districts"` // 6-digit region codes, or "*" for all
	ExpertID  string   `json:"expert_id,omitempty"`
	CSRF      string   `json:"-"` // the session's form token (web sessions only)
}

// Sees reports whether the user may see data of an institution in district.
func (u User) Sees(district string) bool {
	return slices.Contains(u.Districts, "*") || slices.Contains(u.Districts, district)
}

// NeedsIDNumbers reports whether the role needs unmasked ID numbers and
// names: supervisors and admins, who sign decisions and recoveries.
func (u User) NeedsIDNumbers() bool { return u.Role == Supervisor || u.Role == Admin }

// Errors.
var (
	ErrBadLogin    = errors.New("wrong user name or password")
	ErrRateLimited = errors.New("too many failed logins: try again later")
	ErrNoSession   = errors.New("not signed in or session expired")
	ErrInvalid     = errors.New("invalid user")
)

// argon2id parameters (OWASP: m = 19 MiB, t = 2, p = 1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash with a random salt.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks pw against an encoded argon2id hash in constant time.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Config sets session and token lifetimes and the login throttle.
type Config struct {
	SessionTTL       time.Duration // default 8 h (a working day)
	TokenTTL         time.Duration // API tokens issued without an expiry; default 90 days
	MaxTokenTTL      time.Duration // longest expiry a token may be given; default 1 year
	FailureRetention time.Duration // how long failed logins stay recorded; default 30 days
	Throttle         ThrottleConfig
}

// DefaultConfig: 8-hour sessions, 90-day tokens (at most a year), failed
// logins kept 30 days, the default throttle.
func DefaultConfig() Config {
	return Config{SessionTTL: 8 * time.Hour, TokenTTL: 90 * 24 * time.Hour, MaxTokenTTL: 365 * 24 * time.Hour,
		FailureRetention: 30 * 24 * time.Hour, Throttle: DefaultThrottleConfig()}
}

// Store keeps users, sessions and tokens in the service's database.
type Store struct {
	db       *sql.DB
	now      func() time.Time
	cfg      Config
	throttle *throttle
	dummy    string // a hash checked for unknown users, so they cost the same
	// Audit, when set, runs a change to users or tokens together with its
	// event in the audit trail, in one transaction (the api sets it to the
	// casebook's trail). Unset, changes run in a plain transaction.
	Audit Recorder
}

// Recorder runs change and appends an event (actor did kind to subject,
// with payload) in the same transaction.
type Recorder func(ctx context.Context, actor, subject, kind string, payload any, change func(tx *sql.Tx) error) error

// NewStore returns a store over a migrated database.
func NewStore(db *sql.DB, now func() time.Time, cfg Config) *Store {
	secret, err := randomToken()
	if err == nil {
		secret, err = HashPassword(secret)
	}
	if err != nil {
		panic(err) // crypto/rand failed: nothing is safe to do
	}
	return &Store{db: db, now: now, cfg: cfg, throttle: newThrottle(cfg.Throttle), dummy: secret}
}

// PeakHashes is the largest number of password hashes that ran at once.
func (s *Store) PeakHashes() int64 { return s.throttle.peak.Load() }

// CreateUser adds a user with a password of at least 10 characters (an
// operator at the command line).
func (s *Store) CreateUser(ctx context.Context, u User, password string) error {
	return s.CreateUserBy(ctx, "system:cli", u, password)
}

// CreateUserBy adds a user on actor's behalf, with an audit event.
func (s *Store) CreateUserBy(ctx context.Context, actor string, u User, password string) error {
	var problems []string
	if u.ID == "" || strings.ContainsAny(u.ID, " ,") {
		problems = append(problems, "user id must be non-empty without spaces or commas")
	}
	if !slices.Contains(Roles, u.Role) {
		problems = append(problems, "role must be one of "+strings.Join(Roles, ", "))
	}
	if len(u.Districts) == 0 {
		problems = append(problems, "at least one district (or *)")
	}
	for _, d := range u.Districts {
		if !validDistrict(d) {
			problems = append(problems, fmt.Sprintf("district %q is not a 6-digit region code or *", d))
		}
	}
	if len([]rune(password)) < 10 {
		problems = append(problems, "password must have at least 10 characters")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	var expert any
	if u.ExpertID != "" {
		expert = u.ExpertID
	}
	name := u.Name
	if name == "" {
		name = u.ID
	}
	err = s.change(ctx, actor, "user:"+u.ID, "user_created", map[string]any{"role": u.Role, "districts": u.Districts, "expert_id": u.ExpertID},
		func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, false)`,
				u.ID, name, hash, u.Role, strings.Join(u.Districts, ","), expert, s.now())
			return err
		})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

func (s *Store) user(ctx context.Context, id string) (User, string, error) {
	var u User
	var districts, hash string
	var expert sql.NullString
	var disabled bool
	err := s.db.QueryRowContext(ctx, `SELECT user_id, display_name, password_hash, role, districts, expert_id, disabled FROM users WHERE user_id = ?`, id).
		Scan(&u.ID, &u.Name, &hash, &u.Role, &districts, &expert, &disabled)
	if err != nil || disabled {
		return User{}, "", ErrBadLogin
	}
	u.Districts, u.ExpertID = strings.Split(districts, ","), expert.String
	return u, hash, nil
}

// Login checks a password and opens a session, returning its token. The
// throttle may refuse it first (a *RateLimitError); unknown and disabled
// users cost the same password hash as known ones.
func (s *Store) Login(ctx context.Context, userID, password, client string) (string, User, error) {
	if err := s.throttle.admit(userID, client, s.now()); err != nil {
		return "", User{}, err
	}
	u, hash, uerr := s.user(ctx, userID)
	if uerr != nil {
		hash = s.dummy
	}
	ok := false
	if err := s.throttle.hash(ctx, func() { ok = VerifyPassword(hash, password) }); err != nil {
		return "", User{}, err
	}
	if uerr != nil || !ok {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO login_failures VALUES (?, ?, ?)`, userID, client, s.now()); err != nil {
			return "", User{}, err
		}
		return "", User{}, ErrBadLogin
	}
	s.throttle.succeeded(userID, client)
	token, err := randomToken()
	if err != nil {
		return "", User{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", User{}, err
	}
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sessions VALUES (?, ?, ?, ?, ?)`, tokenHash(token), u.ID, csrf, now, now.Add(s.cfg.SessionTTL)); err != nil {
		return "", User{}, err
	}
	u.CSRF = csrf
	return token, u, nil
}

// Purge deletes expired sessions, tokens expired for over a retention
// period, and failed logins older than the retention, and forgets throttle
// accounting that no longer delays anyone.
func (s *Store) Purge(ctx context.Context) (sessions, failures int64, err error) {
	now := s.now()
	s.throttle.forget(now)
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now)
	if err != nil {
		return 0, 0, fmt.Errorf("purge sessions: %w", err)
	}
	sessions, _ = res.RowsAffected()
	res, err = s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE failed_at < ?`, now.Add(-s.cfg.FailureRetention))
	if err != nil {
		return sessions, 0, fmt.Errorf("purge login failures: %w", err)
	}
	failures, _ = res.RowsAffected()
	return sessions, failures, nil
}

// Session returns the user of a live session token.
func (s *Store) Session(ctx context.Context, token string) (User, error) {
	var id, csrf string
	err := s.db.QueryRowContext(ctx, `SELECT user_id, csrf FROM sessions WHERE token_hash = ? AND expires_at > ?`, tokenHash(token), s.now()).Scan(&id, &csrf)
	if err != nil {
		return User{}, ErrNoSession
	}
	u, _, err := s.user(ctx, id)
	if err != nil {
		return User{}, ErrNoSession
	}
	u.CSRF = csrf
	return u, nil
}

// Logout ends a session.
func (s *Store) Logout(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token))
	return err
}

// Exists reports whether a user id is taken.
func (s *Store) Exists(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE user_id = ?`, userID).Scan(&n)
	return n > 0, err
}
