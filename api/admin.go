package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
)

// The life cycle of users and tokens: everyone lists, issues and revokes
// their own API tokens and changes their own password (/account); admins
// list every user and token, create users, change roles, districts and
// expert ids, disable users and reset passwords (/admin). Every change is
// an event in the audit trail (subject "user:<id>").

// adminMessages are the strings of the account and admin pages.
var adminMessages = map[string][2]string{
	"account":         {"我的账户", "My account"},
	"admin":           {"用户与令牌管理", "Users and tokens"},
	"tokens":          {"API 令牌", "API tokens"},
	"token_name":      {"名称", "Name"},
	"token_owner":     {"所属用户", "Owner"},
	"token_created":   {"创建时间", "Created"},
	"token_expires":   {"到期时间", "Expires"},
	"token_days":      {"有效天数", "Valid for (days)"},
	"token_new":       {"新建令牌", "New token"},
	"token_shown":     {"请立即保存此令牌，它不会再次显示：", "Store this token now; it is not shown again:"},
	"token_revoked":   {"已吊销", "Revoked"},
	"token_expired":   {"已过期", "Expired"},
	"token_active":    {"有效", "Active"},
	"revoke":          {"吊销", "Revoke"},
	"no_tokens":       {"暂无令牌。", "No tokens."},
	"change_password": {"修改密码", "Change password"},
	"old_password":    {"原密码", "Current password"},
	"new_password":    {"新密码（至少10个字符）", "New password (at least 10 characters)"},
	"password_done":   {"密码已修改：所有会话已结束，所有令牌已吊销，请重新登录。", "Password changed: every session ended and every token revoked; sign in again."},
	"users":           {"用户", "Users"},
	"role":            {"角色", "Role"},
	"districts":       {"辖区（逗号分隔，* 为全部）", "Districts (comma-separated, * = all)"},
	"expert":          {"评审专家编号", "Expert id"},
	"disabled":        {"停用", "Disabled"},
	"sessions":        {"在线会话", "Open sessions"},
	"save":            {"保存（该用户须重新登录）", "Save (the user signs in again)"},
	"saved":           {"已保存。", "Saved."},
}

// chinaTime is Beijing time (UTC+8 all year: China keeps no daylight time).
var chinaTime = time.FixedZone("CST", 8*3600)

func init() {
	for k, v := range adminMessages {
		messages[k] = v
	}
	funcs["shanghaiTime"] = func(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04") }
	funcs["joinComma"] = func(s []string) string { return strings.Join(s, ",") }
}

// registerAccess adds the account, token, user, backup and overdue routes.
func (s *Server) registerAccess(web, v1 *gin.RouterGroup) {
	admin := s.requireRole(auth.Admin)
	staff := s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin)
	web.GET("/overdue", staff, s.overduePage)
	v1.GET("/overdue", staff, s.overdueJSON)
	web.GET("/account", s.accountPage)
	web.POST("/account/tokens", s.requireCSRF, s.issueTokenForm)
	web.POST("/account/password", s.requireCSRF, s.passwordForm)
	web.POST("/tokens/:id/revoke", s.requireCSRF, s.revokeTokenForm)
	web.GET("/admin", admin, s.adminPage)
	web.POST("/admin/users/:id", s.requireCSRF, admin, s.updateUserForm)

	v1.GET("/me", s.me)
	v1.POST("/me/password", s.requireCSRF, s.changePassword)
	v1.GET("/tokens", s.listTokens)
	v1.POST("/tokens", s.requireCSRF, s.issueToken)
	v1.DELETE("/tokens/:id", s.requireCSRF, s.revokeToken)
	v1.GET("/users", admin, s.listUsers)
	v1.POST("/users", s.requireCSRF, admin, s.createUser)
	v1.PATCH("/users/:id", s.requireCSRF, admin, s.updateUser)
	v1.POST("/users/:id/password", s.requireCSRF, admin, s.resetPassword)
	v1.POST("/backups", s.requireCSRF, admin, s.takeBackup)
}

// authError maps the auth package's errors to API errors.
func authError(err error, field string) error {
	var rl *auth.RateLimitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return &Error{Code: CodeRateLimited, Message: "too many attempts: retry after " + strconv.Itoa(max(1, int(rl.RetryAfter.Seconds()))) + " s", err: err}
	case errors.Is(err, auth.ErrInvalid):
		return &Error{Code: CodeInvalid, Field: field, Message: strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": "), err: err}
	case errors.Is(err, auth.ErrBadLogin):
		return &Error{Code: CodeInvalid, Field: "old_password", Message: "the current password is wrong", err: err}
	case errors.Is(err, auth.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "no such user or token", err: err}
	}
	return err
}

// failAuth answers an auth error, with Retry-After when throttled.
func (s *Server) failAuth(c *gin.Context, err error, field string) {
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		retryAfter(c, rl.RetryAfter)
	}
	s.fail(c, authError(err, field))
}

func (s *Server) me(c *gin.Context) {
	u := currentUser(c)
	tokens, err := s.users.Tokens(c.Request.Context(), u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": u, "tokens": tokens})
}

// listTokens answers GET /api/v1/tokens: the user's own tokens; an admin
// may ask for anyone's (?user_id=) or everyone's (?user_id=*).
func (s *Server) listTokens(c *gin.Context) {
	u := currentUser(c)
	who := c.DefaultQuery("user_id", u.ID)
	if who != u.ID && u.Role != auth.Admin {
		s.fail(c, &Error{Code: CodeForbidden, Field: "user_id", Message: "only admins list other users' tokens"})
		return
	}
	if who == "*" {
		who = ""
	}
	tokens, err := s.users.Tokens(c.Request.Context(), who)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"tokens": tokens})
}

type tokenRequest struct {
	Name string `json:"name"`
	Days int    `json:"expires_in_days"` // 0: the default (90)
	User string `json:"user_id"`         // admins only: issue for another user
}

// issueToken answers POST /api/v1/tokens with the new token, shown once.
func (s *Server) issueToken(c *gin.Context) {
	var in tokenRequest
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be JSON {name, expires_in_days}"})
		return
	}
	u := currentUser(c)
	if in.User == "" {
		in.User = u.ID
	}
	if in.User != u.ID && u.Role != auth.Admin {
		s.fail(c, &Error{Code: CodeForbidden, Field: "user_id", Message: "only admins issue tokens for other users"})
		return
	}
	t, secret, err := s.users.IssueToken(c.Request.Context(), u.ID, in.User, in.Name, time.Duration(in.Days)*24*time.Hour)
	if err != nil {
		s.failAuth(c, err, "name")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"token": secret, "token_info": t})
}

// revokeToken answers DELETE /api/v1/tokens/{id}: the owner's or an
// admin's; others' tokens are not found.
func (s *Server) revokeToken(c *gin.Context) {
	if err := s.users.RevokeToken(c.Request.Context(), currentUser(c), c.Param("id")); err != nil {
		s.failAuth(c, err, "")
		return
	}
	c.JSON(http.StatusOK, gin.H{"token_id": c.Param("id"), "revoked": true})
}

type passwordRequest struct {
	Old string `json:"old_password"`
	New string `json:"new_password"`
}

// changePassword answers POST /api/v1/me/password: every session of the
// user ends and every token is revoked.
func (s *Server) changePassword(c *gin.Context) {
	var in passwordRequest
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be JSON {old_password, new_password}"})
		return
	}
	u := currentUser(c)
	if err := s.users.ChangePassword(c.Request.Context(), u.ID, in.Old, in.New, c.ClientIP()); err != nil {
		s.failAuth(c, err, "new_password")
		return
	}
	c.JSON(http.StatusOK, gin.H{"user_id": u.ID, "sessions_ended": true, "tokens_revoked": true})
}

func (s *Server) listUsers(c *gin.Context) {
	accounts, err := s.users.Accounts(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": accounts})
}

type userRequest struct {
	ID        string   `json:"user_id"`
	Name      string   `json:"display_name"`
	Role      string   `json:"role"`
	Districts []string `json:"districts"`
	ExpertID  string   `json:"expert_id"`
	Password  string   `json:"password"`
}

// createUser answers POST /api/v1/users (admins).
func (s *Server) createUser(c *gin.Context) {
	var in userRequest
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be JSON {user_id, display_name, role, districts, expert_id, password}"})
		return
	}
	if ok, err := s.users.Exists(c.Request.Context(), in.ID); err != nil || ok {
		s.fail(c, errors.Join(err, &Error{Code: CodeConflict, Field: "user_id", Message: "the user id is taken"}))
		return
	}
	u := auth.User{ID: in.ID, Name: in.Name, Role: in.Role, Districts: in.Districts, ExpertID: in.ExpertID}
	if err := s.users.CreateUserBy(c.Request.Context(), currentUser(c).ID, u, in.Password); err != nil {
		s.failAuth(c, err, "")
		return
	}
	a, err := s.users.Account(c.Request.Context(), in.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"user": a})
}

// updateUser answers PATCH /api/v1/users/{id} (admins): role, districts,
// expert id, disabled. The user's sessions end; disabling revokes tokens.
func (s *Server) updateUser(c *gin.Context) {
	var in auth.Change
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be JSON {role, districts, expert_id, disabled}"})
		return
	}
	s.applyChange(c, in, func(err error) { s.failAuth(c, err, "") }, func(a auth.Account) { c.JSON(http.StatusOK, gin.H{"user": a}) })
}

func (s *Server) applyChange(c *gin.Context, in auth.Change, fail func(error), done func(auth.Account)) {
	ctx := c.Request.Context()
	if err := s.users.UpdateUser(ctx, currentUser(c), c.Param("id"), in); err != nil {
		fail(err)
		return
	}
	a, err := s.users.Account(ctx, c.Param("id"))
	if err != nil {
		fail(err)
		return
	}
	done(a)
}

// resetPassword answers POST /api/v1/users/{id}/password (admins).
func (s *Server) resetPassword(c *gin.Context) {
	var in passwordRequest
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be JSON {new_password}"})
		return
	}
	if _, err := s.users.Account(c.Request.Context(), c.Param("id")); err != nil {
		s.failAuth(c, err, "")
		return
	}
	if err := s.users.ResetPassword(c.Request.Context(), currentUser(c).ID, c.Param("id"), in.New); err != nil {
		s.failAuth(c, err, "new_password")
		return
	}
	c.JSON(http.StatusOK, gin.H{"user_id": c.Param("id"), "sessions_ended": true, "tokens_revoked": true})
}

// tokenRow is a token as the pages show it.
type tokenRow struct {
	auth.Token
	State string // active | revoked | expired
}

func (s *Server) tokenRows(c *gin.Context, userID string) ([]tokenRow, error) {
	tokens, err := s.users.Tokens(c.Request.Context(), userID)
	if err != nil {
		return nil, err
	}
	out := make([]tokenRow, len(tokens))
	now := s.now()
	for i, t := range tokens {
		out[i] = tokenRow{Token: t, State: "token_active"}
		switch {
		case t.RevokedAt != nil:
			out[i].State = "token_revoked"
		case !t.Active(now):
			out[i].State = "token_expired"
		}
	}
	return out, nil
}

func (s *Server) accountPage(c *gin.Context) {
	s.renderAccount(c, gin.H{"Message": c.Query("msg")})
}

func (s *Server) renderAccount(c *gin.Context, data gin.H) {
	tokens, err := s.tokenRows(c, currentUser(c).ID)
	if err != nil {
		s.failPage(c, err)
		return
	}
	data["Tokens"] = tokens
	s.render(c, "account.html", data)
}

// issueTokenForm shows the new token once, on the answer page itself (never
// in a URL).
func (s *Server) issueTokenForm(c *gin.Context) {
	u := currentUser(c)
	days, _ := strconv.Atoi(c.PostForm("days"))
	_, secret, err := s.users.IssueToken(c.Request.Context(), u.ID, u.ID, c.PostForm("name"), time.Duration(days)*24*time.Hour)
	if err != nil {
		s.failPage(c, authError(err, "name"))
		return
	}
	s.renderAccount(c, gin.H{"Secret": secret})
}

func (s *Server) revokeTokenForm(c *gin.Context) {
	if err := s.users.RevokeToken(c.Request.Context(), currentUser(c), c.Param("id")); err != nil {
		s.failPage(c, authError(err, ""))
		return
	}
	back := "/account"
	if c.PostForm("back") == "admin" {
		back = "/admin"
	}
	c.Redirect(http.StatusSeeOther, back+"?msg=saved")
}

func (s *Server) passwordForm(c *gin.Context) {
	u := currentUser(c)
	err := s.users.ChangePassword(c.Request.Context(), u.ID, c.PostForm("old_password"), c.PostForm("new_password"), c.ClientIP())
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		retryAfter(c, rl.RetryAfter)
	}
	if err != nil {
		s.failPage(c, authError(err, "new_password"))
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(c)})
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) adminPage(c *gin.Context) {
	accounts, err := s.users.Accounts(c.Request.Context())
	if err != nil {
		s.failPage(c, err)
		return
	}
	tokens, err := s.tokenRows(c, "")
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.render(c, "admin.html", gin.H{"Accounts": accounts, "Tokens": tokens, "Roles": auth.Roles, "Message": c.Query("msg")})
}

// updateUserForm applies the admin page's form for one user.
func (s *Server) updateUserForm(c *gin.Context) {
	role, expert, disabled := c.PostForm("role"), c.PostForm("expert_id"), c.PostForm("disabled") == "on"
	var districts []string
	for _, d := range strings.Split(c.PostForm("districts"), ",") {
		if d = strings.TrimSpace(d); d != "" {
			districts = append(districts, d)
		}
	}
	s.applyChange(c, auth.Change{Role: &role, Districts: &districts, ExpertID: &expert, Disabled: &disabled}, func(err error) { s.failPage(c, authError(err, "")) }, func(auth.Account) {
		c.Redirect(http.StatusSeeOther, "/admin?msg=saved#user-"+url.PathEscape(c.Param("id")))
	})
}

// BackupFunc writes an online backup of the database into the new folder
// out and describes it (the manifest's summary).
type BackupFunc func(ctx context.Context, out string) (any, error)

// WithBackups lets admins take online backups (POST /api/v1/backups) into
// folders under dir.
func WithBackups(dir string, run BackupFunc) Option {
	return func(s *Server) { s.backups = backups{dir: dir, run: run} }
}

// backups is where online backups go and what takes them, one at a time.
type backups struct {
	dir string
	run BackupFunc
	mu  sync.Mutex
}

// backupName is a backup folder's name: no separators, no leading dot.
var backupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// takeBackup answers POST /api/v1/backups (admins): a backup of the
// database as it stands, taken while the server keeps reading and writing
// (one read transaction: a consistent snapshot), with the manifest that
// `medaudit restore` verifies.
func (s *Server) takeBackup(c *gin.Context) {
	if s.backups.run == nil {
		s.fail(c, &Error{Code: CodeInvalid, Message: "online backups are off: start the server with --backup-dir"})
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&in); err != nil {
			s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "body must be empty or JSON {name}"})
			return
		}
	}
	if in.Name == "" {
		in.Name = "medaudit-" + s.now().UTC().Format("20060102T150405Z")
	}
	if !backupName.MatchString(in.Name) {
		s.fail(c, &Error{Code: CodeInvalid, Field: "name", Message: "name: letters, digits, . _ - (at most 100), not starting with a dot"})
		return
	}
	if !s.backups.mu.TryLock() {
		s.fail(c, &Error{Code: CodeConflict, Message: "a backup is being taken: retry when it has finished"})
		return
	}
	defer s.backups.mu.Unlock()
	out := filepath.Join(s.backups.dir, in.Name)
	sum, err := s.backups.run(c.Request.Context(), out)
	if err != nil {
		s.fail(c, err)
		return
	}
	slog.Info("online backup", "out", out, "by", currentUser(c).ID)
	c.JSON(http.StatusCreated, gin.H{"out": out, "backup": sum})
}
