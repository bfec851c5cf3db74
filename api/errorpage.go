package api

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/internal/glossary"
)

// errorTitles and errorHints tell a person, by error code, what happened
// and what to do; the page shows them above the message.
var (
	errorTitles = map[string]glossary.Entry{
		CodeInvalid:      {Zh: "填写有误", En: "Please check what you entered"},
		CodeNotFound:     {Zh: "未找到该页面或案件", En: "Page or case not found"},
		CodeConflict:     {Zh: "操作与案件当前状态冲突", En: "This conflicts with the current state"},
		CodeUnauthorized: {Zh: "请先登录", En: "Please sign in"},
		CodeForbidden:    {Zh: "无权进行此操作", En: "You may not do this"},
		CodeRateLimited:  {Zh: "操作过于频繁", En: "Too many attempts"},
		CodeTooLarge:     {Zh: "上传内容过大", En: "The upload is too large"},
		CodeUnsupported:  {Zh: "不支持的上传格式", En: "Unsupported upload format"},
		CodeInternal:     {Zh: "系统内部错误", En: "Internal error"},
	}
	errorHints = map[string]glossary.Entry{
		CodeInvalid:     {Zh: "请返回上一页修改后重新提交。", En: "Go back, correct the form and submit again."},
		CodeNotFound:    {Zh: "案件不存在，或不在您负责的辖区/评审范围内。", En: "The case does not exist or is outside your districts or assignments."},
		CodeConflict:    {Zh: "案件可能已被他人处理，请返回案件页刷新后查看当前状态。", En: "Someone may have acted on the case already: reload the case page."},
		CodeForbidden:   {Zh: "您的角色不能执行此操作；如需权限请联系管理员。", En: "Your role may not do this; ask an administrator if you need to."},
		CodeInternal:    {Zh: "操作未完成，请稍后重试；问题持续时请联系管理员。", En: "Nothing was recorded; try again later or ask an administrator."},
		CodeRateLimited: {Zh: "请稍后再试。", En: "Try again later."},
	}
	// errorMessages translates the API's messages people meet in the pages.
	errorMessages = map[string]string{
		"no such case":                                            "没有这个案件。",
		"no such route":                                           "没有这个页面。",
		"no such report file":                                     "没有这个报告文件。",
		"your role may not do this":                               "您的角色无权执行此操作。",
		"your role may not take this action":                      "您的角色无权执行此步骤。",
		"missing or wrong form token (CSRF): reload the page":     "表单令牌（CSRF）缺失或已失效：请刷新页面后重试。",
		"this action is not possible in the case's current state": "案件当前状态下不能执行此步骤。",
		"internal error":                                          "系统内部错误。",
		"no eligible reviewer is free: add reviewers or wait for capacity":        "暂无符合回避规则且有余量的评审专家：请增加专家或稍后再试。",
		"the violating amount must be positive and at most the amount at risk":    "违规金额必须大于0且不超过涉及金额。",
		"verdict must be violation or no_violation":                               "请选择认定结论：违规或未见违规。",
		"an appeal needs the institution's grounds in note":                       "登记申诉须填写机构的申诉理由。",
		"a recovery sample is drawn once, for an institution case":                "追回样本只对机构案件抽取一次。",
		"draw the recovery sample first":                                          "请先抽取追回样本。",
		"size must be a whole number from 2 to 1000":                              "样本量须为2至1000之间的整数。",
		"this case has no clinical flag: it is decided by the auditors":           "本案没有临床性疑点，由稽核人员直接认定。",
		"the verdict was already submitted or the case is no longer under review": "评审意见已提交，或案件已不在专家复审阶段。",
		"a violation needs the violating amount in yuan (e.g. 1234.50)":           "认定违规须填写违规金额（元，如 1234.50）。",
		"amount must be a positive amount in yuan, e.g. 1234.50":                  "金额须为正数（元，如 1234.50）。",
		"basis must be art38, art40 or art41 (医疗保障基金使用监督管理条例)":                    "处罚依据须为《医疗保障基金使用监督管理条例》第38、40或41条。",
	}
)

// failPage shows an error of a page route as a page in the user's
// language, with a way back; API routes keep answering JSON (fail).
func (s *Server) failPage(c *gin.Context, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.Error("page failed", "path", c.FullPath(), "err", err)
		e = &Error{Code: CodeInternal, Message: "internal error"}
	}
	l := glossary.Lang(lang(c))
	msg := e.Message
	if zh, ok := errorMessages[msg]; ok && l == glossary.Zh {
		msg = zh
	}
	back, home := backLink(c), "/"
	if u := currentUser(c); u.ID == "" {
		home = "/login"
	} else if u.Role == auth.Reviewer {
		home = "/queue"
	}
	c.Status(statusOf[e.Code])
	s.render(c, "error.html", gin.H{"Error": e, "Status": statusOf[e.Code], "Title": errorTitles[e.Code].In(l),
		"Hint": errorHints[e.Code].In(l), "Msg": msg, "Back": back, "Home": home})
	c.Abort()
}

// isPage tells the page routes (HTML errors) from the API (JSON errors).
func isPage(c *gin.Context) bool {
	p := c.Request.URL.Path
	return !strings.HasPrefix(p, "/api/") && p != "/healthz"
}

// backLink is the same-site page the user came from, if any.
func backLink(c *gin.Context) string {
	ref, err := url.Parse(c.GetHeader("Referer"))
	if err != nil || ref.Path == "" || ref.Host != c.Request.Host || ref.Path == c.Request.URL.Path {
		return ""
	}
	if ref.RawQuery != "" {
		return ref.Path + "?" + ref.RawQuery
	}
	return ref.Path
}
