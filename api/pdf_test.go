package api_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	utf16pkg "unicode/utf16"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/unicode/norm"
)

// TestCasePDF prints a stay's case file to PDF through headless Chromium
// and reads it back with a PDF reader: the pages, the case id, the
// timeline chart's heading and its day labels, the audit trail.
func TestCasePDF(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (scripts/test.sh installs it)")
		}
		t.Skip("chromium not installed")
	}
	e := newEnv(t)
	sup := e.client(t).login("sup")
	status, body, h := sup.do("GET", "/cases/"+e.panelCase+"/pdf", nil, nil)
	if status != 200 || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("pdf: %d %s %.200q", status, h.Get("Content-Type"), body)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), "case-file.pdf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pdf.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if r.NumPage() < 1 {
		t.Fatalf("%d pages", r.NumPage())
	}
	var all strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		all.WriteString(pageText(t, r.Page(i)))
	}
	// The font's CMap names some ideographs by their Kangxi-radical code
	// points (⽇ for 日): NFKC folds them.
	text := norm.NFKC.String(strings.Join(strings.Fields(all.String()), ""))
	for _, want := range []string{e.panelCase, "住院每日费用时间轴", "03-02", "03-04", "操作留痕", "送专家复审", "北京时间"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
	t.Logf("case file PDF: %d pages, %d bytes", r.NumPage(), len(body))
	// A reviewer gets no PDF route; a missing case is a page, not a PDF.
	rev := e.client(t).login("rev_a")
	if status, _, _ := rev.do("GET", "/cases/"+e.panelCase+"/pdf", nil, nil); status != 403 {
		t.Errorf("reviewer pdf: %d", status)
	}
}

// TestCasePDFWithoutChromium: with no Chromium the route says so in Chinese.
func TestCasePDFWithoutChromium(t *testing.T) {
	t.Setenv("MEDAUDIT_CHROMIUM", filepath.Join(t.TempDir(), "no-chromium-here"))
	e := newEnv(t)
	sup := e.client(t).login("sup")
	status, body, _ := sup.do("GET", "/cases/"+e.panelCase+"/pdf", nil, nil)
	if status != 503 || !strings.Contains(body, "服务器未安装 Chromium") {
		t.Fatalf("pdf without chromium: %d", status)
	}
}

// pageText is a page's text in content-stream order. Chromium embeds the
// CJK font as Type3 fonts, one per 256 glyphs, whose codes map to Unicode
// only through each font's ToUnicode CMap; so the page's content stream is
// interpreted with the library (Tf selects the font, Tj and TJ show
// strings) and each string is mapped with its font's CMap.
func pageText(t *testing.T, p pdf.Page) string {
	t.Helper()
	maps := map[string]map[byte][]rune{}
	fonts := p.Resources().Key("Font")
	for _, name := range fonts.Keys() {
		maps[name] = toUnicode(t, fonts.Key(name).Key("ToUnicode"))
	}
	var b strings.Builder
	var cur map[byte][]rune
	show := func(v pdf.Value) {
		for _, c := range []byte(v.RawString()) {
			if u, ok := cur[c]; ok {
				b.WriteString(string(u))
			}
		}
	}
	contents := p.V.Key("Contents")
	streams := []pdf.Value{contents}
	if contents.Kind() == pdf.Array {
		streams = nil
		for i := 0; i < contents.Len(); i++ {
			streams = append(streams, contents.Index(i))
		}
	}
	for _, strm := range streams {
		pdf.Interpret(strm, func(stk *pdf.Stack, op string) {
			n := stk.Len()
			args := make([]pdf.Value, n)
			for i := n - 1; i >= 0; i-- {
				args[i] = stk.Pop()
			}
			switch op {
			case "Tf":
				if n == 2 {
					cur = maps[args[0].Name()]
				}
			case "Tj", "'", "\"":
				if n > 0 {
					show(args[n-1])
				}
			case "TJ":
				if n == 1 {
					for i := 0; i < args[0].Len(); i++ {
						if x := args[0].Index(i); x.Kind() == pdf.String {
							show(x)
						}
					}
				}
			case "ET":
				b.WriteString(" ")
			}
		})
	}
	return b.String()
}

var (
	cmapChar  = regexp.MustCompile(`<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]+)>`)
	cmapRange = regexp.MustCompile(`<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]+)>`)
)

// toUnicode reads the one-byte entries of a ToUnicode CMap (bfchar and
// bfrange with a UTF-16 destination).
func toUnicode(t *testing.T, v pdf.Value) map[byte][]rune {
	out := map[byte][]rune{}
	if v.Kind() != pdf.Stream {
		return out
	}
	rc := v.Reader()
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	utf16 := func(h string) []rune {
		var u []uint16
		for i := 0; i+4 <= len(h); i += 4 {
			n, _ := strconv.ParseUint(h[i:i+4], 16, 16)
			u = append(u, uint16(n))
		}
		return utf16pkg.Decode(u)
	}
	body := string(b)
	for _, sec := range strings.Split(body, "beginbfrange")[1:] {
		sec = sec[:strings.Index(sec, "endbfrange")]
		for _, m := range cmapRange.FindAllStringSubmatch(sec, -1) {
			lo, _ := strconv.ParseUint(m[1], 16, 8)
			hi, _ := strconv.ParseUint(m[2], 16, 8)
			dst := utf16(m[3])
			for c := lo; c <= hi && len(dst) > 0; c++ {
				r := append([]rune(nil), dst...)
				r[len(r)-1] += rune(c - lo)
				out[byte(c)] = r
			}
		}
	}
	for _, sec := range strings.Split(body, "beginbfchar")[1:] {
		sec = sec[:strings.Index(sec, "endbfchar")]
		for _, m := range cmapChar.FindAllStringSubmatch(sec, -1) {
			c, _ := strconv.ParseUint(m[1], 16, 8)
			out[byte(c)] = utf16(m[2])
		}
	}
	return out
}
