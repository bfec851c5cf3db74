package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// More errors of the life cycle.
var (
	ErrNotFound  = errors.New("no such user or token")
	ErrForbidden = errors.New("only the owner or an admin may do this")
)

// Token is an API token as listed: never its secret.
type Token struct {
	ID        string     `json:"token_id"` // a prefix of the secret's SHA-256: names the token, reveals nothing
	UserID    string     `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// Active reports whether the token still authenticates at now.
func (t Token) Active(now time.Time) bool { return t.RevokedAt == nil && now.Before(t.ExpiresAt) }

// tokenIDLen is the length of a token's public id (64 bits of its hash).
const tokenIDLen = 16

// change runs f and records the event, in one transaction.
func (s *Store) change(ctx context.Context, actor, subject, kind string, payload any, f func(tx *sql.Tx) error) error {
	if s.Audit != nil {
		return s.Audit(ctx, actor, subject, kind, payload, f)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CreateToken issues an API token for a user with the default expiry; the
// token is shown once.
func (s *Store) CreateToken(ctx context.Context, userID, label string) (string, error) {
	_, secret, err := s.IssueToken(ctx, "system:cli", userID, label, 0)
	return secret, err
}

// IssueToken issues a named API token for userID that expires after ttl
// (0: the default; at most MaxTokenTTL). It returns the listing and the
// secret, which is shown once.
func (s *Store) IssueToken(ctx context.Context, actor, userID, name string, ttl time.Duration) (Token, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case ttl == 0:
		ttl = s.cfg.TokenTTL
	case ttl < time.Hour || ttl > s.cfg.MaxTokenTTL:
		return Token{}, "", fmt.Errorf("%w: a token expires after 1 hour to %d days", ErrInvalid, int(s.cfg.MaxTokenTTL.Hours()/24))
	}
	if name == "" || len([]rune(name)) > 80 {
		return Token{}, "", fmt.Errorf("%w: a token needs a name of 1 to 80 characters", ErrInvalid)
	}
	if _, _, err := s.user(ctx, userID); err != nil {
		return Token{}, "", fmt.Errorf("%w: no such user %s", ErrInvalid, userID)
	}
	raw, err := randomToken()
	if err != nil {
		return Token{}, "", err
	}
	h, now := tokenHash(raw), s.now().UTC()
	t := Token{ID: h[:tokenIDLen], UserID: userID, Name: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err = s.change(ctx, actor, "user:"+userID, "token_issued", map[string]any{"token_id": t.ID, "name": name, "expires_at": t.ExpiresAt},
		func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, label, created_at, revoked, expires_at) VALUES (?, ?, ?, ?, false, ?)`,
				h, userID, name, now, t.ExpiresAt)
			return err
		})
	if err != nil {
		return Token{}, "", fmt.Errorf("issue token for %s: %w", userID, err)
	}
	return t, "mda_" + raw, nil
}

// TokenUser returns the user of a live API token: not revoked, not expired,
// its user not disabled.
func (s *Store) TokenUser(ctx context.Context, token string) (User, error) {
	raw, ok := strings.CutPrefix(token, "mda_")
	if !ok {
		return User{}, ErrNoSession
	}
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT user_id FROM api_tokens WHERE token_hash = ? AND NOT revoked AND expires_at > ?`,
		tokenHash(raw), s.now()).Scan(&id); err != nil {
		return User{}, ErrNoSession
	}
	u, _, err := s.user(ctx, id)
	if err != nil {
		return User{}, ErrNoSession
	}
	return u, nil
}

// Tokens lists the tokens of userID ("" for everyone's), newest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT substr(token_hash, 1, ?), user_id, label, created_at, expires_at, revoked_at, revoked_by
		FROM api_tokens WHERE ? = '' OR user_id = ? ORDER BY created_at DESC, token_hash`, tokenIDLen, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var by sql.NullString
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &by); err != nil {
			return nil, err
		}
		t.RevokedBy = by.String
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by its id: its owner or an admin may.
// Revoking a revoked token is a no-op.
func (s *Store) RevokeToken(ctx context.Context, actor User, tokenID string) error {
	if len(tokenID) != tokenIDLen {
		return ErrNotFound
	}
	var owner string
	var revoked bool
	err := s.db.QueryRowContext(ctx, `SELECT user_id, revoked FROM api_tokens WHERE substr(token_hash, 1, ?) = ?`, tokenIDLen, tokenID).Scan(&owner, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case owner != actor.ID && actor.Role != Admin:
		return ErrNotFound // not theirs: as if it did not exist
	case revoked:
		return nil
	}
	return s.change(ctx, actor.ID, "user:"+owner, "token_revoked", map[string]any{"token_id": tokenID}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked = true, revoked_at = ?, revoked_by = ? WHERE substr(token_hash, 1, ?) = ?`,
			s.now(), actor.ID, tokenIDLen, tokenID)
		return err
	})
}

// Account is a user as the admin page lists them.
type Account struct {
	User
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Sessions  int       `json:"open_sessions"`
	Tokens    int       `json:"active_tokens"`
}

// Accounts lists every user with their open sessions and active tokens.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT u.user_id, u.display_name, u.role, u.districts, coalesce(u.expert_id, ''), u.disabled, u.created_at,
			(SELECT count(*) FROM sessions x WHERE x.user_id = u.user_id AND x.expires_at > ?),
			(SELECT count(*) FROM api_tokens t WHERE t.user_id = u.user_id AND NOT t.revoked AND t.expires_at > ?)
		FROM users u ORDER BY u.user_id`, now, now)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var a Account
		var districts string
		if err := rows.Scan(&a.ID, &a.Name, &a.Role, &districts, &a.ExpertID, &a.Disabled, &a.CreatedAt, &a.Sessions, &a.Tokens); err != nil {
			return nil, err
		}
		a.Districts = strings.Split(districts, ",")
		out = append(out, a)
	}
	return out, rows.Err()
}

// Change is an admin's change to a user; nil fields stay as they are.
type Change struct {
	Role      *string   `json:"role,omitempty"`
	Districts *[]string `json:"districts,omitempty"`
	ExpertID  *string   `json:"expert_id,omitempty"`
	Disabled  *bool     `json:"disabled,omitempty"`
}

// validDistrict accepts "*" or a 6-digit region code.
func validDistrict(d string) bool {
	if d == "*" {
		return true
	}
	if len(d) != 6 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// UpdateUser applies an admin's change to userID, with an audit event
// naming the old and new values. Any change ends the user's sessions (they
// sign in again under the new role); disabling also revokes their tokens.
// An admin cannot disable or demote themself (so one admin always remains
// able to undo a mistake).
func (s *Store) UpdateUser(ctx context.Context, actor User, userID string, ch Change) error {
	cur, err := s.Account(ctx, userID)
	if err != nil {
		return err
	}
	next := cur
	var problems []string
	if ch.Role != nil {
		if !slices.Contains(Roles, *ch.Role) {
			problems = append(problems, "role must be one of "+strings.Join(Roles, ", "))
		}
		next.Role = *ch.Role
	}
	if ch.Districts != nil {
		if len(*ch.Districts) == 0 {
			problems = append(problems, "at least one district (or *)")
		}
		for _, d := range *ch.Districts {
			if !validDistrict(d) {
				problems = append(problems, fmt.Sprintf("district %q is not a 6-digit region code or *", d))
			}
		}
		next.Districts = *ch.Districts
	}
	if ch.ExpertID != nil {
		next.ExpertID = strings.TrimSpace(*ch.ExpertID)
	}
	if ch.Disabled != nil {
		next.Disabled = *ch.Disabled
	}
	if userID == actor.ID && (next.Disabled || next.Role != Admin) {
		problems = append(problems, "an admin cannot disable or demote themself")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	payload := map[string]any{
		"before": map[string]any{"role": cur.Role, "districts": cur.Districts, "expert_id": cur.ExpertID, "disabled": cur.Disabled},
		"after":  map[string]any{"role": next.Role, "districts": next.Districts, "expert_id": next.ExpertID, "disabled": next.Disabled},
	}
	return s.change(ctx, actor.ID, "user:"+userID, "user_changed", payload, func(tx *sql.Tx) error {
		var expert any
		if next.ExpertID != "" {
			expert = next.ExpertID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, districts = ?, expert_id = ?, disabled = ? WHERE user_id = ?`,
			next.Role, strings.Join(next.Districts, ","), expert, next.Disabled, userID); err != nil {
			return err
		}
		return endAccess(ctx, tx, userID, next.Disabled, actor.ID, s.now())
	})
}

// endAccess ends a user's sessions and, when tokens too, revokes their tokens.
func endAccess(ctx context.Context, tx *sql.Tx, userID string, tokens bool, actor string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	if !tokens {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked = true, revoked_at = ?, revoked_by = ? WHERE user_id = ? AND NOT revoked`, now, actor, userID)
	return err
}

// Account returns one user, disabled or not.
func (s *Store) Account(ctx context.Context, userID string) (Account, error) {
	var a Account
	var districts string
	err := s.db.QueryRowContext(ctx, `SELECT user_id, display_name, role, districts, coalesce(expert_id, ''), disabled, created_at FROM users WHERE user_id = ?`, userID).
		Scan(&a.ID, &a.Name, &a.Role, &districts, &a.ExpertID, &a.Disabled, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.Districts = strings.Split(districts, ",")
	return a, err
}

// SetPassword replaces a user's password (an operator at the command
// line), ending their sessions and revoking their API tokens.
func (s *Store) SetPassword(ctx context.Context, userID, password string) error {
	return s.ResetPassword(ctx, "system:cli", userID, password)
}

// ResetPassword replaces userID's password on actor's behalf, ending their
// sessions and revoking their API tokens, with an audit event.
func (s *Store) ResetPassword(ctx context.Context, actor, userID, password string) error {
	if len([]rune(password)) < 10 {
		return fmt.Errorf("%w: password must have at least 10 characters", ErrInvalid)
	}
	if _, err := s.Account(ctx, userID); err != nil {
		return fmt.Errorf("%w: no such user %s", ErrInvalid, userID)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.change(ctx, actor, "user:"+userID, "password_changed", map[string]any{"sessions_ended": true, "tokens_revoked": true},
		func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE user_id = ?`, hash, userID); err != nil {
				return err
			}
			return endAccess(ctx, tx, userID, true, actor, s.now())
		})
}

// ChangePassword is a user changing their own password: the old one must
// be right (checked through the login throttle).
func (s *Store) ChangePassword(ctx context.Context, userID, old, password, client string) error {
	if err := s.throttle.admit(userID, client, s.now()); err != nil {
		return err
	}
	_, hash, err := s.user(ctx, userID)
	if err != nil {
		return ErrBadLogin
	}
	ok := false
	if err := s.throttle.hash(ctx, func() { ok = VerifyPassword(hash, old) }); err != nil {
		return err
	}
	if !ok {
		return ErrBadLogin
	}
	s.throttle.succeeded(userID, client)
	return s.ResetPassword(ctx, userID, userID, password)
}
