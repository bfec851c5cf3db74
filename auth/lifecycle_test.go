package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medaudit/medaudit/auth"
)

func TestTokenLifeCycle(t *testing.T) {
	ctx := context.Background()
	s, now := store(t)
	for _, u := range []auth.User{{ID: "aud1", Role: auth.Auditor, Districts: []string{"330106"}}, {ID: "aud2", Role: auth.Auditor, Districts: []string{"330106"}},
		{ID: "root", Role: auth.Admin, Districts: []string{"*"}}} {
		if err := s.CreateUser(ctx, u, "long enough pw"); err != nil {
			t.Fatal(err)
		}
	}
	aud1, aud2, root := auth.User{ID: "aud1", Role: auth.Auditor}, auth.User{ID: "aud2", Role: auth.Auditor}, auth.User{ID: "root", Role: auth.Admin}
	if _, _, err := s.IssueToken(ctx, "aud1", "aud1", "", 0); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("nameless token: %v", err)
	}
	if _, _, err := s.IssueToken(ctx, "aud1", "aud1", "bot", 2*365*24*time.Hour); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("two-year token: %v", err)
	}
	tk, secret, err := s.IssueToken(ctx, "aud1", "aud1", "nightly export", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.TokenUser(ctx, secret); err != nil || u.ID != "aud1" {
		t.Fatalf("token user %v %v", u, err)
	}
	if list, _ := s.Tokens(ctx, "aud1"); len(list) != 1 || list[0].ID != tk.ID || list[0].Name != "nightly export" || !list[0].Active(*now) {
		t.Errorf("list %+v", list)
	}
	// Expiry.
	*now = now.Add(25 * time.Hour)
	if _, err := s.TokenUser(ctx, secret); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("expired token accepted: %v", err)
	}
	// Revocation: not by another user, by the owner, by an admin.
	second, secret2, _ := s.IssueToken(ctx, "aud1", "aud1", "second", 0)
	if err := s.RevokeToken(ctx, aud2, second.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("revoked by a stranger: %v", err)
	}
	if _, err := s.TokenUser(ctx, secret2); err != nil {
		t.Fatalf("token gone after a refused revoke: %v", err)
	}
	if err := s.RevokeToken(ctx, aud1, second.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, secret2); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("revoked token accepted: %v", err)
	}
	third, secret3, _ := s.IssueToken(ctx, "aud1", "aud1", "third", 0)
	if err := s.RevokeToken(ctx, root, third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, secret3); err == nil {
		t.Error("token revoked by admin accepted")
	}
	// A password change ends sessions and revokes tokens.
	_, secret4, _ := s.IssueToken(ctx, "aud1", "aud1", "fourth", 0)
	session, _, err := s.Login(ctx, "aud1", "long enough pw", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, "aud1", "wrong old pw", "a brand new password", "10.0.0.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("wrong old password: %v", err)
	}
	if err := s.ChangePassword(ctx, "aud1", "long enough pw", "a brand new password", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, secret4); err == nil {
		t.Error("token survives a password change")
	}
	if _, err := s.Session(ctx, session); err == nil {
		t.Error("session survives a password change")
	}
}

func TestUpdateUser(t *testing.T) {
	ctx := context.Background()
	s, _ := store(t)
	s.CreateUser(ctx, auth.User{ID: "aud1", Role: auth.Auditor, Districts: []string{"330106"}}, "long enough pw")
	s.CreateUser(ctx, auth.User{ID: "root", Role: auth.Admin, Districts: []string{"*"}}, "long enough pw")
	root := auth.User{ID: "root", Role: auth.Admin}
	session, _, err := s.Login(ctx, "aud1", "long enough pw", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := s.IssueToken(ctx, "aud1", "aud1", "bot", 0)
	sup, two := auth.Supervisor, []string{"330106", "330102"}
	if err := s.UpdateUser(ctx, root, "aud1", auth.Change{Role: &sup, Districts: &two}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, session); err == nil {
		t.Error("session survives a role change")
	}
	if u, err := s.TokenUser(ctx, secret); err != nil || u.Role != auth.Supervisor || !u.Sees("330102") {
		t.Errorf("token after the change: %+v %v", u, err)
	}
	bad := []string{"33010"}
	if err := s.UpdateUser(ctx, root, "aud1", auth.Change{Districts: &bad}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("bad district: %v", err)
	}
	yes := true
	if err := s.UpdateUser(ctx, root, "root", auth.Change{Disabled: &yes}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("admin disabled themself: %v", err)
	}
	if err := s.UpdateUser(ctx, root, "aud1", auth.Change{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, secret); err == nil {
		t.Error("token of a disabled user accepted")
	}
	if _, _, err := s.Login(ctx, "aud1", "long enough pw", "10.0.0.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("disabled user signs in: %v", err)
	}
	accounts, err := s.Accounts(ctx)
	if err != nil || len(accounts) != 2 || !accounts[0].Disabled || accounts[0].Tokens != 0 {
		t.Errorf("accounts %+v %v", accounts, err)
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	s, now := store(t)
	s.CreateUser(ctx, auth.User{ID: "aud1", Role: auth.Auditor, Districts: []string{"330106"}}, "long enough pw")
	s.Login(ctx, "aud1", "long enough pw", "10.0.0.1")
	s.Login(ctx, "aud1", "wrong", "10.0.0.1")
	*now = now.Add(31 * 24 * time.Hour)
	sessions, failures, err := s.Purge(ctx)
	if err != nil || sessions != 1 || failures != 1 {
		t.Errorf("purged %d sessions, %d failures: %v", sessions, failures, err)
	}
}
