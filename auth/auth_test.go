package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

func store(t *testing.T) (*auth.Store, *time.Time) {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return auth.NewStore(db.DB, func() time.Time { return now }, auth.DefaultConfig()), &now
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("%q %v", h, err)
	}
	h2, _ := auth.HashPassword("correct horse battery")
	if h == h2 {
		t.Error("no salt")
	}
	if !auth.VerifyPassword(h, "correct horse battery") || auth.VerifyPassword(h, "correct horse batterY") || auth.VerifyPassword("garbage", "x") {
		t.Error("verify")
	}
}

func TestLoginSessionsTokens(t *testing.T) {
	ctx := context.Background()
	s, now := store(t)
	if err := s.CreateUser(ctx, auth.User{ID: "aud1", Role: auth.Auditor, Districts: []string{"330106"}}, "short"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	if err := s.CreateUser(ctx, auth.User{ID: "aud1", Role: "boss", Districts: []string{"330106"}}, "long enough pw"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("bad role: %v", err)
	}
	if err := s.CreateUser(ctx, auth.User{ID: "aud1", Name: "王稽核", Role: auth.Auditor, Districts: []string{"330106"}}, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "aud1", "wrong password", "127.0.0.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("wrong password: %v", err)
	}
	token, u, err := s.Login(ctx, "aud1", "long enough pw", "127.0.0.1")
	if err != nil || u.Role != auth.Auditor || !u.Sees("330106") || u.Sees("330102") || u.CSRF == "" {
		t.Fatalf("login %+v %v", u, err)
	}
	if got, err := s.Session(ctx, token); err != nil || got.ID != "aud1" || got.CSRF != u.CSRF {
		t.Errorf("session %+v %v", got, err)
	}
	if _, err := s.Session(ctx, token+"x"); !errors.Is(err, auth.ErrNoSession) {
		t.Error("forged session accepted")
	}
	*now = now.Add(9 * time.Hour)
	if _, err := s.Session(ctx, token); !errors.Is(err, auth.ErrNoSession) {
		t.Error("expired session accepted")
	}
	tok, err := s.CreateToken(ctx, "aud1", "report bot")
	if err != nil || !strings.HasPrefix(tok, "mda_") {
		t.Fatal(tok, err)
	}
	if got, err := s.TokenUser(ctx, tok); err != nil || got.ID != "aud1" {
		t.Errorf("token user %+v %v", got, err)
	}
	if _, err := s.TokenUser(ctx, "mda_nope"); err == nil {
		t.Error("unknown token accepted")
	}
	if err := s.SetPassword(ctx, "aud1", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "aud1", "long enough pw", "127.0.0.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("old password still works: %v", err)
	}
	if ok, _ := s.Exists(ctx, "aud1"); !ok {
		t.Error("Exists")
	}
	token2, _, _ := s.Login(ctx, "aud1", "a new long password", "127.0.0.1")
	s.Logout(ctx, token2)
	if _, err := s.Session(ctx, token2); err == nil {
		t.Error("session survives logout")
	}
}
