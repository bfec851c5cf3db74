package api

import (
	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
)

// workbenchRoutes adds the auditors' page routes: the case life-cycle forms.
func (s *Server) workbenchRoutes(web *gin.RouterGroup) {
	staff := s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin)
	web.POST("/cases/:id/act", s.requireRole(caseActors...), s.requireCSRF, s.caseStepForm)
	web.GET("/cases/:id/pdf", staff, s.casePDF)
}

// workbenchMessages are the workbench pages' strings, Chinese first.
var workbenchMessages = map[string][2]string{
	"recorded":       {"已记录", "Recorded"},
	"print":          {"打印案卷", "Print the case file"},
	"pdf":            {"下载PDF案卷", "Case file as PDF"},
	"subject":        {"对象", "Subject"},
	"opened":         {"立案时间", "Opened"},
	"decision":       {"认定结论", "Decision"},
	"recovered":      {"已追回", "Recovered"},
	"fine":           {"罚款", "Fine"},
	"evidence":       {"证据明细", "Evidence"},
	"org_stays":      {"本机构疑点住院", "Flagged stays of this institution"},
	"org_stays_note": {"点击表头排序；点击结算ID打开该住院的案件，专家组可从中抽样调阅病历。", "Click a header to sort; open a stay's case from its settlement id to read a sample of them."},
	"settlement":     {"结算ID", "Settlement"},
	"total":          {"医疗费总额", "Total"},
	"rules":          {"规则", "Rules"},
	"sample":         {"追回抽样与外推", "Recovery sample and extrapolation"},
	"method":         {"方法", "Method"},
	"seed":           {"随机种子", "Seed"},
	"seed_auto":      {"留空则随机生成并记录", "empty: random, recorded"},
	"sample_size":    {"样本量", "Sample size"},
	"drawn_at":       {"抽样时间", "Drawn"},
	"stratum":        {"分层", "Stratum"},
	"fund_account":   {"统筹+个账", "Fund + account"},
	"found":          {"核实多付金额", "Over-payment found"},
	"extrapolated":   {"外推多付金额", "Extrapolated over-payment"},
	"interval90":     {"90%置信区间", "90% interval"},
	"expert":         {"专家", "Expert"},
	"round":          {"轮次", "Round"},
	"submitted_at":   {"提交时间", "Submitted"},
	"pending":        {"待评审", "Pending"},
	"next_steps":     {"办理", "Next steps"},
	"steps_note":     {"每一步先显示将记录的内容，确认后才写入并留痕。", "Each step shows what will be recorded; nothing is written until you confirm."},
	"recover_amount": {"本次追回金额（元）", "Recovered now (yuan)"},
	"basis":          {"处罚依据", "Basis"},
	"fine_percent":   {"罚款比例（%）", "Fine (%)"},
	"time":           {"时间", "Time"},
	"actor":          {"操作人", "By"},
	"event":          {"事项", "Event"},
	"details":        {"内容", "Details"},
	"confirm_title":  {"请确认", "Please confirm"},
	"confirm_note":   {"确认后将写入案件并记入留痕，不能撤回。", "On confirming, this is recorded in the case and its audit trail; it cannot be undone."},
	"confirm":        {"确认并记录", "Confirm and record"},
	"cancel":         {"取消", "Cancel"},
	"go_back":        {"返回上一页", "Go back"},
	"go_home":        {"回到首页", "Home"},
	"progress":       {"已完成", "Done"},
	"flag_title":     {"疑点", "Flag"},
	"stay_dates":     {"住院日期", "Stay"},
	"tie_breaker":    {"第三方评审", "tie-breaker"},
}

func init() {
	for k, v := range workbenchMessages {
		messages[k] = v
	}
}
