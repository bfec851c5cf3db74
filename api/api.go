// Package api is the HTTP face of the service (Gin): JSON under /api/v1 and
// the pages auditors and the review panel read, Chinese first.
//
// Every route but /healthz and /login needs a signed-in user: a session
// cookie for the pages (password login, argon2id), a bearer token for API
// clients. Roles decide what a user may do and districts what they may see:
// a case or institution outside the user's districts is "not found".
// Reviewers see only the cases assigned to them, blind to the detector's
// score and to the other reviewer's verdict until both have voted. Raw
// quarantined rows are not served (they may carry ID numbers and names);
// `medaudit export quarantine` gives them to an operator.
package api

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/settlement"
)

//go:embed templates/*.html
var templates embed.FS

// openAPI is the API's OpenAPI 3 document; a test keeps it equal to the
// routes the router really has.
//
//go:embed openapi.json
var openAPI []byte

// Error codes, each mapped to one HTTP status.
const (
	CodeInvalid      = "invalid"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeRateLimited  = "rate_limited"
	CodeTooLarge     = "too_large"
	CodeUnsupported  = "unsupported_media_type"
	CodeInternal     = "internal"
)

var statusOf = map[string]int{
	CodeInvalid:      http.StatusBadRequest,
	CodeNotFound:     http.StatusNotFound,
	CodeConflict:     http.StatusConflict,
	CodeUnauthorized: http.StatusUnauthorized,
	CodeForbidden:    http.StatusForbidden,
	CodeRateLimited:  http.StatusTooManyRequests,
	CodeTooLarge:     http.StatusRequestEntityTooLarge,
	CodeUnsupported:  http.StatusUnsupportedMediaType,
	CodeInternal:     http.StatusInternalServerError,
}

// Error is an error with a code and a message safe to show a user.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	err     error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.err }

// Server serves the API and pages over one database.
type Server struct {
	db           *pipeline.DB
	now          func() time.Time
	engine       *gin.Engine
	pages        *template.Template
	users        *auth.Store
	cases        *casebook.Store
	policies     *settlement.PolicySet
	writer       *Writer
	jobs         *jobs
	version      version
	readCache    *readCache
	fileStamp    stampCache
	flight       singleflight.Group
	uploadDir    string
	uploadLimits UploadLimits
	// detectorCfg and thresholdsSource configure the scans (WithDetectors).
	detectorCfg      detectors.Config
	thresholdsSource string
	sec              hardening
	backups          backups
}

// Option changes a server default.
type Option func(*Server)

// WithPolicies makes scans and quotes use the insured-region policies ps
// instead of the built-in examples; nil keeps the examples.
func WithPolicies(ps *settlement.PolicySet) Option {
	return func(s *Server) {
		if ps != nil {
			s.policies = ps
		}
	}
}

// WithUploads sets where uploaded batches are staged (default: the system's
// temporary folder) and their limits.
func WithUploads(dir string, limits UploadLimits) Option {
	return func(s *Server) { s.uploadDir, s.uploadLimits = dir, limits }
}

// New builds the router. Scans a crash left running are recorded as failed.
func New(db *pipeline.DB, now func() time.Time, opts ...Option) (*Server, error) {
	gin.SetMode(gin.ReleaseMode)
	pages, err := template.New("").Funcs(funcs).Funcs(timeFuncs).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	policies, err := settlement.DefaultPolicies()
	if err != nil {
		return nil, err
	}
	s := &Server{db: db, now: now, engine: gin.New(), pages: pages, policies: policies,
		cases: casebook.NewStore(db.DB, now), jobs: newJobs(), uploadLimits: DefaultUploadLimits(), readCache: newReadCache(8192),
		sec: hardening{Security: DefaultSecurity()}}
	s.writer = &Writer{onRelease: s.version.bump}
	for _, o := range opts {
		o(s)
	}
	if err := s.applySecurity(); err != nil {
		return nil, err
	}
	if err := markInterrupted(context.Background(), db.DB, now()); err != nil {
		return nil, err
	}
	s.engine.Use(gin.Recovery(), s.securityHeaders, s.trackWrites)
	s.engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	s.engine.GET("/api/v1/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	s.engine.GET("/login", s.loginPage)
	s.engine.GET("/static/:name", staticFile)
	s.engine.POST("/login", s.login)

	web := s.engine.Group("/", s.authenticate(true))
	web.GET("/", s.homePage)
	web.POST("/logout", s.requireCSRF, s.logout)
	web.GET("/queue", s.requireRole(auth.Reviewer), s.queuePage)
	web.GET("/cases", s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin), s.casesPage)
	web.GET("/cases/:id", s.casePage)
	web.GET("/reports", s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin), s.reportsPage)
	web.POST("/cases/:id/verdict", s.requireRole(auth.Reviewer), s.requireCSRF, s.verdictForm)
	s.workbenchRoutes(web)

	v1 := s.engine.Group("/api/v1", s.authenticate(false), s.rateLimit, s.cacheReads)
	staff := s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin)
	actors := s.requireRole(caseActors...)
	v1.GET("/batches", staff, s.listBatches)
	v1.POST("/batches", actors, s.requireCSRF, s.uploadBatch)
	v1.GET("/batches/:batch", staff, s.batchStatus)
	v1.GET("/batches/:batch/quarantine", staff, s.batchQuarantine)
	v1.GET("/scans", staff, s.listScans)
	v1.POST("/scans", actors, s.requireCSRF, s.startScan)
	v1.GET("/scans/:id", staff, s.scanStatus)
	v1.GET("/calibration", staff, s.listCalibration)
	v1.POST("/calibration/:id/resolve", actors, s.requireCSRF, s.resolveCalibration)
	v1.GET("/flags", staff, s.listFlags)
	v1.GET("/queue", s.requireRole(auth.Reviewer), s.queueJSON)
	v1.GET("/cases", staff, s.listCases)
	v1.GET("/cases/:id", s.caseJSON)
	v1.POST("/cases/:id/verdict", s.requireRole(auth.Reviewer), s.requireCSRF, s.verdictJSON)
	v1.POST("/cases/:id/assign", actors, s.requireCSRF, s.assignCase)
	v1.POST("/cases/:id/decision", actors, s.requireCSRF, s.decideCase)
	v1.POST("/cases/:id/appeal", actors, s.requireCSRF, s.appealCase)
	v1.POST("/cases/:id/recovery", actors, s.requireCSRF, s.recordRecovery)
	v1.POST("/cases/:id/actions", actors, s.requireCSRF, s.actOnCase)
	v1.POST("/cases/:id/sample", actors, s.requireCSRF, s.drawSample)
	v1.POST("/cases/:id/sample/findings", actors, s.requireCSRF, s.sampleFindings)
	v1.GET("/institutions", staff, s.listInstitutions)
	v1.GET("/institutions/ranking", staff, s.institutionRanking)
	v1.GET("/institutions/:org", staff, s.institutionProfile)
	v1.GET("/institutions/:org/peers", staff, s.institutionPeers)
	v1.GET("/institutions/:org/score", staff, s.institutionScore)
	v1.GET("/institutions/:org/inspection", staff, s.inspectionPack)
	v1.GET("/reports", staff, s.listReports)
	v1.GET("/reports/:id/files/:name", staff, s.reportFile)
	v1.GET("/audit", staff, s.auditLog)
	v1.POST("/settlement/quote", staff, s.requireCSRF, s.quote)
	s.registerAccess(web, v1)
	s.engine.NoRoute(func(c *gin.Context) {
		s.fail(c, &Error{Code: CodeNotFound, Message: "no such route"})
	})
	return s, nil
}

// Routes lists the method and path of every route, paths in OpenAPI form
// (/cases/{id}).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.engine.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(parts, "/"))
	}
	sort.Strings(out)
	return out
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) fail(c *gin.Context, err error) {
	if isPage(c) {
		s.failPage(c, err)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: "internal error", err: err}
	}
	if e.Code == CodeInternal {
		slog.Error("request failed", "path", c.FullPath(), "err", err)
	}
	if e.Code == CodeRateLimited && c.Writer.Header().Get("Retry-After") == "" {
		retryAfter(c, time.Minute)
	}
	c.AbortWithStatusJSON(statusOf[e.Code], gin.H{"error": e})
}

// intQuery reads an optional bounded integer query parameter.
func intQuery(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &Error{Code: CodeInvalid, Field: name, Message: name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}
	}
	return n, nil
}

// paging reads the limit (1..max, default def) and offset of a listing.
func paging(c *gin.Context, def, max int) (limit, offset int, err error) {
	if limit, err = intQuery(c, "limit", def, 1, max); err != nil {
		return 0, 0, err
	}
	offset, err = intQuery(c, "offset", 0, 0, 1<<30)
	return limit, offset, err
}

func (s *Server) listBatches(c *gin.Context) {
	limit, err := intQuery(c, "limit", 50, 1, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	runs, err := pipeline.Runs(c.Request.Context(), s.db, limit)
	if err == nil {
		runs, err = s.scopeRuns(c.Request.Context(), currentUser(c), runs)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	cstIngestRuns(runs)
	c.JSON(http.StatusOK, gin.H{"batches": runs})
}

func (s *Server) batchQuarantine(c *gin.Context) {
	limit, offset, err := paging(c, 100, 1000)
	if err == nil {
		err = s.batchVisible(c.Request.Context(), currentUser(c), c.Param("batch"))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, total, err := pipeline.QuarantineReasons(c.Request.Context(), s.db, c.Param("batch"), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	if total == 0 {
		runs, err := pipeline.Runs(c.Request.Context(), s.db, 1000)
		if err != nil {
			s.fail(c, err)
			return
		}
		known := false
		for _, r := range runs {
			known = known || r.BatchID == c.Param("batch")
		}
		if !known {
			s.fail(c, &Error{Code: CodeNotFound, Message: "no such batch"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"batch_id": c.Param("batch"), "total": total, "rows": rows})
}

func (s *Server) homePage(c *gin.Context) {
	u := currentUser(c)
	if u.Role == auth.Reviewer {
		c.Redirect(http.StatusSeeOther, "/queue")
		return
	}
	runs, err := pipeline.Runs(c.Request.Context(), s.db, 50)
	if err == nil {
		runs, err = s.scopeRuns(c.Request.Context(), u, runs)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	alarms, err := s.visibleAlarms(c, "status = ?", detectors.AlarmOpen)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, "home.html", gin.H{"Runs": runs, "Alarms": alarms})
}
