package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"
)

// CodeUnavailable is a refusal because a tool the service needs is missing.
const CodeUnavailable = "unavailable"

func init() {
	statusOf[CodeUnavailable] = http.StatusServiceUnavailable
	errorTitles[CodeUnavailable] = errorTitles[CodeInternal]
	errorMessages[errNoChromium] = "服务器未安装 Chromium，无法生成 PDF 案卷：请管理员安装 chromium（Debian: apt-get install chromium fonts-noto-cjk），或使用“打印案卷”另存为 PDF。"
}

const errNoChromium = "Chromium is not installed on the server, so no PDF can be made: install chromium (Debian: apt-get install chromium fonts-noto-cjk) or print the case page to PDF"

// chromiumNames are the executables tried, in order, for print-to-PDF.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"}

// findChromium returns the path of a headless-capable Chromium (the
// MEDAUDIT_CHROMIUM environment variable, else the first of chromiumNames on
// PATH), or "".
func findChromium() string {
	if p := os.Getenv("MEDAUDIT_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// casePDF answers GET /cases/{id}/pdf: the case file (the case page as it
// prints, with the timeline chart and the audit trail) rendered to PDF by
// headless Chromium's print-to-PDF.
func (s *Server) casePDF(c *gin.Context) {
	data, err := s.caseData(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	data["Printing"] = true
	var html bytes.Buffer
	if err := s.renderTo(&html, c, "case.html", data); err != nil {
		s.failPage(c, err)
		return
	}
	pdf, err := printPDF(c.Request.Context(), html.Bytes())
	if err != nil {
		s.failPage(c, err)
		return
	}
	name := "case-" + c.Param("id") + ".pdf"
	c.Header("Content-Disposition", "attachment; filename=\""+name+"\"; filename*=UTF-8''"+url.PathEscape(name))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/pdf", pdf)
}

// printPDF renders one self-contained HTML page to PDF with headless
// Chromium in a private temporary profile; the files are removed after.
func printPDF(ctx context.Context, html []byte) ([]byte, error) {
	bin := findChromium()
	if bin == "" {
		return nil, &Error{Code: CodeUnavailable, Message: errNoChromium}
	}
	dir, err := os.MkdirTemp("", "medaudit-pdf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	page, out := filepath.Join(dir, "case.html"), filepath.Join(dir, "case.pdf")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
		"--disable-background-networking", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+out, "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("chromium print-to-pdf: %w (%.300s)", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("chromium print-to-pdf wrote no file: %v (%.300s)", err, stderr.String())
	}
	return b, nil
}
