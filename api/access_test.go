package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/auth"
)

// access is who may use a route.
type access struct {
	public bool     // no sign-in needed
	roles  []string // roles allowed; nil = any signed-in user
	scoped bool     // a case route: another district's staff or an unassigned reviewer get 404
	page   bool     // anonymous users are sent to /login rather than told 401
	absent bool     // the path names a user or token the matrix does not create: 404 for whoever passes the role check
}

var (
	staff  = []string{auth.Auditor, auth.Supervisor, auth.Admin}
	actors = []string{auth.Auditor, auth.Supervisor} // act on cases and write data
	admins = []string{auth.Admin}
)

// routeAccess is the access policy of every route; the matrix test fails on
// a route that is missing here.
var routeAccess = map[string]access{
	"GET /healthz":                              {public: true},
	"GET /login":                                {public: true},
	"POST /login":                               {public: true},
	"GET /api/v1/openapi.json":                  {public: true},
	"GET /":                                     {page: true},
	"POST /logout":                              {page: true},
	"GET /queue":                                {roles: []string{auth.Reviewer}, page: true},
	"GET /cases":                                {roles: staff, page: true},
	"GET /cases/{id}":                           {scoped: true, page: true},
	"POST /cases/{id}/verdict":                  {roles: []string{auth.Reviewer}, scoped: true, page: true},
	"GET /api/v1/batches":                       {roles: staff},
	"POST /api/v1/batches":                      {roles: actors},
	"GET /api/v1/batches/{batch}":               {roles: staff, scoped: true},
	"GET /api/v1/batches/{batch}/quarantine":    {roles: staff, scoped: true},
	"GET /api/v1/scans":                         {roles: staff},
	"POST /api/v1/scans":                        {roles: actors},
	"GET /api/v1/scans/{id}":                    {roles: staff},
	"GET /api/v1/calibration":                   {roles: staff},
	"POST /api/v1/calibration/{id}/resolve":     {roles: actors},
	"GET /api/v1/flags":                         {roles: staff},
	"GET /api/v1/queue":                         {roles: []string{auth.Reviewer}},
	"GET /api/v1/cases":                         {roles: staff},
	"GET /api/v1/cases/{id}":                    {scoped: true},
	"POST /api/v1/cases/{id}/verdict":           {roles: []string{auth.Reviewer}, scoped: true},
	"POST /api/v1/cases/{id}/assign":            {roles: actors, scoped: true},
	"POST /api/v1/cases/{id}/decision":          {roles: actors, scoped: true},
	"POST /api/v1/cases/{id}/appeal":            {roles: actors, scoped: true},
	"POST /api/v1/cases/{id}/recovery":          {roles: actors, scoped: true},
	"POST /api/v1/cases/{id}/actions":           {roles: actors, scoped: true},
	"GET /api/v1/institutions":                  {roles: staff},
	"GET /api/v1/institutions/ranking":          {roles: staff},
	"GET /api/v1/institutions/{org}":            {roles: staff, scoped: true},
	"GET /api/v1/institutions/{org}/peers":      {roles: staff, scoped: true},
	"GET /api/v1/institutions/{org}/score":      {roles: staff, scoped: true},
	"GET /api/v1/institutions/{org}/inspection": {roles: staff, scoped: true},
	"GET /api/v1/reports":                       {roles: staff},
	"GET /api/v1/reports/{id}/files/{name}":     {roles: staff, scoped: true},
	"GET /reports":                              {roles: staff, page: true},
	"GET /api/v1/audit":                         {roles: staff},
	"POST /api/v1/settlement/quote":             {roles: staff},
	"GET /static/{name}":                        {public: true},
	"POST /cases/{id}/act":                      {roles: actors, scoped: true, page: true},
	"GET /cases/{id}/pdf":                       {roles: staff, scoped: true, page: true},
	"GET /cases/export":                         {roles: staff, page: true},
	"GET /quarantine":                           {roles: staff, page: true},
	"GET /quarantine/export":                    {roles: staff, page: true},
	"POST /api/v1/cases/{id}/sample":            {roles: actors, scoped: true},
	"POST /api/v1/cases/{id}/sample/findings":   {roles: actors, scoped: true},
	"GET /account":                              {page: true},
	"GET /overdue":                              {roles: staff, page: true},
	"GET /api/v1/overdue":                       {roles: staff},
	"POST /account/tokens":                      {page: true},
	"POST /account/password":                    {page: true},
	"POST /tokens/{id}/revoke":                  {page: true, absent: true},
	"GET /admin":                                {roles: admins, page: true},
	"POST /admin/users/{id}":                    {roles: admins, page: true, absent: true},
	"GET /api/v1/me":                            {},
	"POST /api/v1/me/password":                  {},
	"GET /api/v1/tokens":                        {},
	"POST /api/v1/tokens":                       {},
	"DELETE /api/v1/tokens/{id}":                {absent: true},
	"GET /api/v1/users":                         {roles: admins},
	"POST /api/v1/users":                        {roles: admins},
	"PATCH /api/v1/users/{id}":                  {roles: admins},
	"POST /api/v1/users/{id}/password":          {roles: admins},
	"POST /api/v1/backups":                      {roles: admins},
}

// TestAccessMatrix calls every route as every kind of user and checks the
// outcome against routeAccess: anonymous → 401 or the login page, wrong role
// → 403, another district or an unassigned reviewer → 404, never data.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t)
	users := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig())
	if err := users.CreateUser(context.Background(), auth.User{ID: "admin1", Role: auth.Admin, Districts: []string{"*"}}, password); err != nil {
		t.Fatal(err)
	}
	type who struct {
		user, role string
		inDistrict bool // sees the case's district (staff) or is assigned to it (reviewer)
	}
	people := []who{
		{"", "", false},
		{"aud_xihu", auth.Auditor, true},
		{"aud_other", auth.Auditor, false},
		{"sup", auth.Supervisor, true},
		{"admin1", auth.Admin, true},
		{"rev_a", auth.Reviewer, true},
		{"rev_home", auth.Reviewer, false},
	}
	s, err := api.New(e.db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, route := range s.Routes() {
		pol, ok := routeAccess[route]
		if !ok {
			t.Errorf("route %s has no access policy in the matrix", route)
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		id := e.panelCase
		if strings.HasPrefix(path, "/api/v1/scans/") || strings.HasPrefix(path, "/api/v1/reports/") {
			id = "1"
		}
		path = strings.NewReplacer("{id}", id, "{batch}", e.batchID, "{org}", "H33010600001", "{name}", staticName(path)).Replace(path)
		for _, p := range people {
			c := e.client(t)
			if p.user != "" {
				c.login(p.user)
			}
			var status int
			var body string
			var h http.Header
			switch {
			case method == "GET":
				status, body, h = c.do("GET", path, nil, nil)
			case strings.HasPrefix(path, "/api/"):
				status, body, h = c.do(method, path, nil, map[string]string{"X-CSRF-Token": c.csrf})
			default:
				status, body, h = c.do("POST", path, url.Values{"csrf": {c.csrf}, "verdict": {"bogus"}, "user": {"x"}, "password": {"y"}}, nil)
			}
			var want string
			switch {
			case pol.public:
				want = "allowed"
			case p.user == "" && pol.page:
				want = "login"
			case p.user == "":
				want = "unauthenticated"
			case pol.roles != nil && !slices.Contains(pol.roles, p.role):
				want = "forbidden"
			case pol.scoped && !p.inDistrict, pol.absent:
				want = "hidden"
			case route == "POST /logout":
				want = "login" // signed out, back to the login page
			default:
				want = "allowed"
			}
			var got string
			switch {
			case status == http.StatusSeeOther && h.Get("Location") == "/login":
				got = "login"
			case status == http.StatusUnauthorized:
				got = "unauthenticated"
			case status == http.StatusForbidden:
				got = "forbidden"
			case status == http.StatusNotFound:
				got = "hidden"
			case status < 500:
				got = "allowed"
			default:
				got = fmt.Sprintf("error %d", status)
			}
			if got != want {
				t.Errorf("%s as %q: %s (HTTP %d), want %s", route, p.user, got, status, want)
			}
			if got == "hidden" && (strings.Contains(body, "J18.900") || strings.Contains(body, "P001")) {
				t.Errorf("%s as %q: a 404 leaked case data", route, p.user)
			}
			counts[got]++
		}
	}
	t.Logf("access matrix: %d routes × %d kinds of user: %v", len(s.Routes()), len(people), counts)
}
