package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/settlement"
)

// `policy check` on a broken file fails and lists every error with its
// line, region and field (the "# want:" lines of the test file).
func TestPolicyCheckErrors(t *testing.T) {
	path := filepath.Join("..", "..", "settlement", "testdata", "bad", "versions.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wants []string
	for line := range strings.SplitSeq(string(src), "\n") {
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			wants = append(wants, w)
		}
	}
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"policy", "check", path})
	if err := root.ExecuteContext(context.Background()); err == nil {
		t.Fatal("a broken policy file passed the check")
	}
	if !strings.Contains(out.String(), fmt.Sprintf("政策表有 %d 处错误", len(wants))) {
		t.Errorf("error count missing or wrong:\n%s", out.String())
	}
	for _, w := range wants {
		if !strings.Contains(out.String(), "  "+w+"\n") {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}
}

// On a shifted-profile batch: the check of the built-in table suggests the
// terms the batch was settled under, the batch's own file holds a dated
// version, and a scan records the policy file it used and its coverage.
func TestPolicyCheckAndScanWithPolicies(t *testing.T) {
	dir := t.TempDir()
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "m.duckdb")
	run(t, "fixtures", "--out", batch, "--persons", "600", "--seed", "31", "--profile", "shifted")
	run(t, "ingest", "-q", "--db", db, batch)
	own := filepath.Join(batch, "policies.yaml")
	builtin := filepath.Join(dir, "default.yaml")
	if err := os.WriteFile(builtin, settlement.DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}

	out := run(t, "policy", "check", builtin, "--db", db)
	for _, want := range []string{"示例：本表数值为演示用示例", "政策覆盖率：100.0% 的结算",
		"420102 职工 购药 未定级/药店：结算更符合比例 60%、起付线 300.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the built-in table: missing %q in:\n%s", want, out)
		}
	}
	out = run(t, "policy", "check", own)
	if !strings.Contains(out, "611002 商洛市商州区  有效期 2025-07-01 至 长期") || strings.Contains(out, "政策覆盖率") {
		t.Errorf("check of the batch's file:\n%s", out)
	}

	var sum struct {
		Flags  map[string]int `json:"flags"`
		Policy struct {
			Policies settlement.Info `json:"policies"`
			Share    float64         `json:"share"`
			Text     string          `json:"text"`
		} `json:"policy"`
	}
	scan := func(args ...string) {
		t.Helper()
		if err := json.Unmarshal([]byte(run(t, append([]string{"scan", "--db", db, "--detectors", "settlement.recompute_diff"}, args...)...)), &sum); err != nil {
			t.Fatal(err)
		}
	}
	scan()
	builtinFlags := sum.Flags["settlement"]
	if !sum.Policy.Policies.Example || sum.Policy.Policies.Source != settlement.DefaultSource || !strings.Contains(sum.Policy.Text, "示例") {
		t.Errorf("scan with the built-ins: %+v", sum.Policy)
	}
	scan("--policies", own)
	if sum.Policy.Policies.Source != own || sum.Policy.Share != 1 || len(sum.Policy.Policies.SHA256) != 64 {
		t.Errorf("scan with the batch's file: %+v", sum.Policy)
	}
	if sum.Flags["settlement"] >= builtinFlags {
		t.Errorf("recompute flags: %d with the batch's file, %d with the built-ins", sum.Flags["settlement"], builtinFlags)
	}
}
