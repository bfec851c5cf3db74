package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/reports"
)

// seesReport: a report over every district is for users of every
// district; a district report for users granted all of its districts.
func seesReport(u auth.User, r reports.Run) bool {
	if u.Sees("*") {
		return true
	}
	if len(r.Districts) == 0 {
		return false
	}
	for _, d := range r.Districts {
		if !u.Sees(d) {
			return false
		}
	}
	return true
}

// visibleReports lists the latest report runs the user may read.
func (s *Server) visibleReports(c *gin.Context) ([]reports.Run, error) {
	limit, err := intQuery(c, "limit", 50, 1, 500)
	if err != nil {
		return nil, err
	}
	runs, err := reports.List(c.Request.Context(), s.db.DB, limit)
	if err != nil {
		return nil, err
	}
	cstReportRuns(runs)
	u := currentUser(c)
	out := []reports.Run{}
	for _, r := range runs {
		if seesReport(u, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// listReports answers GET /api/v1/reports.
func (s *Server) listReports(c *gin.Context) {
	runs, err := s.visibleReports(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"reports": runs})
}

// reportFile answers GET /api/v1/reports/{id}/files/{name}: the stored
// file, HTML shown in the browser, workbooks and JSON downloaded.
func (s *Server) reportFile(c *gin.Context) {
	ctx := c.Request.Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, &Error{Code: CodeInvalid, Field: "id", Message: "a report id is a positive whole number"})
		return
	}
	notFound := &Error{Code: CodeNotFound, Message: "no such report file"}
	runs, err := reports.List(ctx, s.db.DB, 100000)
	if err != nil {
		s.fail(c, err)
		return
	}
	var run *reports.Run
	for i := range runs {
		if runs[i].ID == id {
			run = &runs[i]
		}
	}
	if run == nil || !seesReport(currentUser(c), *run) {
		s.fail(c, notFound)
		return
	}
	f, err := reports.GetFile(ctx, s.db.DB, id, c.Param("name"))
	if errors.Is(err, reports.ErrNotFound) {
		s.fail(c, notFound)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	sendFile(c, f.Name, f.MediaType, f.Content)
}

// sendFile answers with a file: HTML inline, anything else as a download.
func sendFile(c *gin.Context, name, mediaType string, content []byte) {
	disposition := "attachment"
	if mediaType == reports.MediaHTML {
		disposition = "inline"
	}
	if mediaType == reports.MediaHTML {
		c.Header("Content-Security-Policy", reportCSP)
	}
	c.Header("Content-Disposition", disposition+`; filename="`+name+`"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, mediaType, content)
}

// inspectionPack answers GET /api/v1/institutions/{org}/inspection: the
// quarterly inspection pack (季度检查包) of one institution, rendered on
// demand as HTML or xlsx.
func (s *Server) inspectionPack(c *gin.Context) {
	i, err := s.scopedInstitution(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := c.Query("quarter")
	if !validQuarter(q) {
		s.fail(c, &Error{Code: CodeInvalid, Field: "quarter", Message: "quarter must look like 2026Q3"})
		return
	}
	format := c.DefaultQuery("format", "html")
	if format != "html" && format != "xlsx" {
		s.fail(c, &Error{Code: CodeInvalid, Field: "format", Message: "format must be html or xlsx"})
		return
	}
	pack, err := reports.InspectionPack(c.Request.Context(), s.db.DB, i.OrgCode, q, s.now())
	if err != nil {
		s.fail(c, err)
		return
	}
	name := "inspection-" + i.OrgCode + "-" + q
	if format == "xlsx" {
		sendFile(c, name+".xlsx", reports.MediaXLSX, pack.XLSX)
		return
	}
	sendFile(c, name+".html", reports.MediaHTML, pack.HTML)
}

// validQuarter accepts "2026Q3".
func validQuarter(q string) bool {
	if len(q) != 6 || q[4] != 'Q' || q[5] < '1' || q[5] > '4' {
		return false
	}
	y, err := strconv.Atoi(q[:4])
	return err == nil && y >= 2000 && y <= 2100
}

func (s *Server) reportsPage(c *gin.Context) {
	runs, err := s.visibleReports(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.render(c, "reports.html", gin.H{"Runs": runs})
}
