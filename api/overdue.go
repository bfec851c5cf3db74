package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/casebook"
)

// overdueMessages are the strings of the overdue page.
var overdueMessages = map[string][2]string{
	"overdue":       {"逾期案件", "Overdue cases"},
	"overdue_note":  {"超过截止日期仍未结案的案件；计划任务每日将其升级并记入操作留痕（每个截止日期一次）。", "Cases past their due date and not closed; the scheduler escalates them daily and records it in the audit trail (once per deadline)."},
	"days_overdue":  {"逾期天数", "Days overdue"},
	"escalated_at":  {"升级时间", "Escalated"},
	"not_escalated": {"待升级", "Not yet escalated"},
	"no_overdue":    {"没有逾期案件。", "No overdue cases."},
}

func init() {
	for k, v := range overdueMessages {
		messages[k] = v
	}
	funcs["caseStateName"] = func(s casebook.State) string { return casebook.StateNames[s] }
}

// overdueCases lists the overdue cases of the user's districts.
func (s *Server) overdueCases(c *gin.Context) (any, error) {
	u := currentUser(c)
	var districts []string
	if !u.Sees("*") {
		districts = u.Districts
	}
	return s.cases.Overdue(c.Request.Context(), districts)
}

// overdueJSON answers GET /api/v1/overdue.
func (s *Server) overdueJSON(c *gin.Context) {
	list, err := s.overdueCases(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"cases": list})
}

// overduePage is the supervisors' list of escalated cases.
func (s *Server) overduePage(c *gin.Context) {
	list, err := s.overdueCases(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.render(c, "overdue.html", gin.H{"Cases": list})
}
