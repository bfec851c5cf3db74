package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
)

const (
	sessionCookie = "medaudit_session"
	langCookie    = "lang"
	userKey       = "user"
)

// authenticate resolves the user from a bearer token or the session cookie.
// Pages redirect to the login page; the API answers 401.
func (s *Server) authenticate(page bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		var u auth.User
		err := auth.ErrNoSession
		if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
			u, err = s.credential(secretKey("bearer", h), func() (auth.User, error) {
				return s.users.TokenUser(ctx, strings.TrimPrefix(h, "Bearer "))
			})
			c.Set("bearer", true)
		} else if tok, cerr := c.Cookie(sessionCookie); cerr == nil {
			u, err = s.credential(secretKey("session", tok), func() (auth.User, error) { return s.users.Session(ctx, tok) })
		}
		if err != nil {
			if page {
				c.Redirect(http.StatusSeeOther, "/login")
				c.Abort()
				return
			}
			s.fail(c, &Error{Code: CodeUnauthorized, Message: "sign in or send a bearer token"})
			return
		}
		c.Set(userKey, u)
		c.Next()
	}
}

// credential resolves a session or token through the cache: a valid one is
// trusted for authTTL or until the next write, whichever comes first.
func (s *Server) credential(key string, resolve func() (auth.User, error)) (auth.User, error) {
	v, now := s.version.get(), s.now()
	if e, ok := s.readCache.get(key, v, now); ok {
		return e.user, nil
	}
	u, err := resolve()
	if err == nil {
		s.readCache.put(key, cacheEntry{version: v, expires: now.Add(authTTL), user: u})
	}
	return u, err
}

func currentUser(c *gin.Context) auth.User {
	u, _ := c.Get(userKey)
	user, _ := u.(auth.User)
	return user
}

// requireRole lets only the given roles through.
func (s *Server) requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !slices.Contains(roles, currentUser(c).Role) {
			s.fail(c, &Error{Code: CodeForbidden, Message: "your role may not do this"})
			return
		}
		c.Next()
	}
}

// requireCSRF checks the session's form token on state-changing requests
// made with a session cookie (bearer-token clients send no cookies).
func (s *Server) requireCSRF(c *gin.Context) {
	if _, bearer := c.Get("bearer"); bearer {
		c.Next()
		return
	}
	// The header first: reading the form field would consume a multipart
	// upload's body before its handler streams it.
	tok := c.GetHeader("X-CSRF-Token")
	if tok == "" {
		tok = c.PostForm("csrf")
	}
	if !sameToken(tok, currentUser(c).CSRF) {
		s.fail(c, &Error{Code: CodeForbidden, Message: "missing or wrong form token (CSRF): reload the page"})
		return
	}
	c.Next()
}

func (s *Server) loginPage(c *gin.Context) {
	s.render(c, "login.html", gin.H{"Error": c.Query("error")})
}

// login checks the password and sets a new session cookie (a new random
// token at every login, so a planted cookie cannot be fixated).
func (s *Server) login(c *gin.Context) {
	token, u, err := s.users.Login(c.Request.Context(), c.PostForm("user"), c.PostForm("password"), c.ClientIP())
	switch {
	case s.rateLimitedLogin(c, err):
		return
	case errors.Is(err, auth.ErrBadLogin):
		c.Redirect(http.StatusSeeOther, "/login?error=bad")
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	slog.Info("login", "user", u.ID, "role", u.Role)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(c)})
	c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) logout(c *gin.Context) {
	if tok, err := c.Cookie(sessionCookie); err == nil {
		s.users.Logout(c.Request.Context(), tok)
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(c)})
	c.Redirect(http.StatusSeeOther, "/login")
}
