package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliEnv makes the test binary run as the medaudit command (see TestMain),
// so that a test can start the CLI as a separate process: DuckDB's file
// lock is per process.
const cliEnv = "MEDAUDIT_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if casebookTemp != "" {
		os.RemoveAll(casebookTemp)
	}
	os.Exit(code)
}

// startCLI starts `medaudit args…` as a child process and waits until its
// standard error contains ready. The process is killed when the test ends.
func startCLI(t *testing.T, ready string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), ready) {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("medaudit %v exited before %q", args, ready)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("medaudit %v: no %q after 30 s", args, ready)
	}
	return cmd
}

// runErr executes the CLI in-process and returns its error.
func runErr(args ...string) error {
	root := newRoot()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

// TestDatabaseInUse: while `medaudit serve` owns the file, a writing command
// and a read-only one are both refused with an error naming the server's
// pid and the API to use; once it stops, both work.
func TestDatabaseInUse(t *testing.T) {
	dir := t.TempDir()
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "audit.duckdb")
	run(t, "fixtures", "--out", batch, "--persons", "150", "--seed", "2")
	run(t, "ingest", "-q", "--db", db, batch)

	srv := startCLI(t, "serving", "serve", "--db", db, "--addr", "127.0.0.1:0")
	pid := fmt.Sprintf("pid %d", srv.Process.Pid)
	for _, args := range [][]string{
		{"ingest", "-q", "--db", db, batch},
		{"audit", "verify", "--db", db},
	} {
		err := runErr(args...)
		var inUse *inUseError
		if !errors.As(err, &inUse) {
			t.Fatalf("medaudit %v while the server runs: %v", args, err)
		}
		for _, want := range []string{"the database " + db + " is in use by another process", pid, "POST /api/v1/batches", "stop the server", "read-only opens are refused too"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("medaudit %v: %q lacks %q", args, err, want)
			}
		}
	}

	if err := srv.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server stop: %v", err)
	}
	if out := run(t, "audit", "verify", "--db", db); !strings.Contains(out, `"intact":true`) {
		t.Errorf("verify after the server stopped: %q", out)
	}
}

// TestReadersShareTheFile: read-only opens do not exclude each other.
func TestReadersShareTheFile(t *testing.T) {
	dir := t.TempDir()
	batch, db := filepath.Join(dir, "batch"), filepath.Join(dir, "audit.duckdb")
	run(t, "fixtures", "--out", batch, "--persons", "150", "--seed", "2")
	run(t, "ingest", "-q", "--db", db, batch)
	d, err := (&dbFlags{path: db}).open(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cmd := exec.Command(os.Args[0], "audit", "verify", "--db", db)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"intact":true`) {
		t.Errorf("a second reader: %v %s", err, out)
	}
}
