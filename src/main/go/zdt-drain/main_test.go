package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real processes: with ZDT_DRAIN_TEST_MAIN=1 the test binary is zdt-drain itself (its main
// runs instead of the tests), plus a few child commands for the exec hook.
func TestMain(m *testing.M) {
	if os.Getenv("ZDT_DRAIN_TEST_MAIN") == "1" {
		start := time.Now()
		if len(os.Args) > 1 {
			switch os.Args[1] {
			case "test-child-write": // <file> <args...>: writes an inherited variable and its args
				data := os.Getenv("ZDT_DRAIN_TEST_VALUE") + "|" + strings.Join(os.Args[3:], "|")
				if err := os.WriteFile(os.Args[2], []byte(data), 0o644); err != nil {
					os.Exit(9)
				}
				fmt.Println("child wrote", os.Args[2])
				os.Exit(0)
			case "test-child-exit": // <code>
				code, _ := strconv.Atoi(os.Args[2])
				os.Exit(code)
			case "test-child-sleep":
				time.Sleep(time.Minute)
				os.Exit(0)
			}
		}
		os.Exit(realMain(start, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

type result struct {
	code           int
	stdout, stderr string
	log            string // what went to ZDT_DRAIN_LOG
	took           time.Duration
}

// runZdtDrain runs `zdt-drain <args>` as a process (the test binary in main mode).
func runZdtDrain(t *testing.T, exe string, extraEnv []string, args ...string) result {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), append([]string{"ZDT_DRAIN_TEST_MAIN=1", "ZDT_DRAIN_LOG=" + logFile}, extraEnv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	r := result{took: time.Since(t0), stdout: stdout.String(), stderr: stderr.String(), code: -1}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	} else {
		t.Fatalf("could not run %s: %v", exe, err)
	}
	b, _ := os.ReadFile(logFile)
	r.log = string(b)
	t.Logf("exit %d in %s; log: %s; stdout: %s; stderr: %s", r.code, fmtSeconds(r.took), r.log, r.stdout, r.stderr)
	return r
}

// A gate that releases at once.
func releasingGate(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Verified after 0.0s: ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func prestopArgs(gate, hold, deadline string, extra ...string) []string {
	return append([]string{"prestop", "--gate", gate, "--namespace", "ns", "--app", "web", "--hold", hold, "--deadline", deadline}, extra...)
}

func TestBadArgumentsExitZeroAndHold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		min     time.Duration
		logWant []string
	}{
		{"no gate", []string{"prestop", "--namespace", "ns", "--app", "web", "--hold", "1", "--deadline", "2"},
			time.Second, []string{"outcome=BadArguments", "--gate is missing", "slept the hold (1.00s)"}},
		{"unknown flag before the hold", []string{"prestop", "--nope", "x", "--hold", "1"},
			time.Second, []string{"outcome=BadArguments", "flag provided but not defined: -nope", "slept the hold"}},
		{"bad --then", prestopArgs("http://127.0.0.1:1", "1", "5", "--then", `{"exec":{"command":[]}}`),
			time.Second, []string{"outcome=BadArguments", "--then: exec.command is empty", "slept the hold"}},
		{"no hold", []string{"prestop", "--gate", "http://x"},
			0, []string{"outcome=BadArguments", "--hold is missing", "no hold could be read"}},
		{"nothing", []string{"prestop"},
			0, []string{"outcome=BadArguments", "no hold could be read"}},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, c.args...)
			if r.code != 0 {
				t.Errorf("exit code %d, want 0", r.code)
			}
			within(t, r.took, c.min, c.min+slack)
			if strings.Count(r.log, "\n") != 1 || !strings.HasPrefix(r.log, "zdt-drain: ") {
				t.Errorf("want exactly one zdt-drain line in the log, got %q", r.log)
			}
			for _, w := range c.logWant {
				if !strings.Contains(r.log, w) {
					t.Errorf("log %q does not mention %q", r.log, w)
				}
			}
		})
	}
}

func TestOtherCommands(t *testing.T) {
	t.Parallel()
	if r := runZdtDrain(t, self(t), nil, "version"); r.code != 0 || r.stdout != "dev\n" {
		t.Errorf("version: %+v", r)
	}
	if r := runZdtDrain(t, self(t), nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, "usage") {
		t.Errorf("unknown command: %+v", r)
	}
	if r := runZdtDrain(t, self(t), nil); r.code != 2 {
		t.Errorf("no command: %+v", r)
	}
}

func TestPrestopProcessLogsOneLineToTheLogTarget(t *testing.T) {
	t.Parallel()
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-7"}, prestopArgs(releasingGate(t), "5", "10")...)
	if r.code != 0 || r.stdout != "" || strings.Count(r.log, "\n") != 1 ||
		!strings.HasPrefix(r.log, `zdt-drain: pod=ns/web-7 app=web outcome=Released held=`) ||
		!strings.HasSuffix(r.log, ` attempts=1 gate="Verified after 0.0s: ok"`+"\n") {
		t.Errorf("%+v", r)
	}
	// ZDT_DRAIN_LOG=- is the helper's own stdout.
	r = runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-7", "ZDT_DRAIN_LOG=-"}, prestopArgs(releasingGate(t), "5", "10")...)
	if r.code != 0 || r.log != "" || !strings.HasPrefix(r.stdout, "zdt-drain: pod=ns/web-7 app=web outcome=Released") {
		t.Errorf("%+v", r)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func checkInstalled(t *testing.T, dst string, want [32]byte) {
	t.Helper()
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o555 {
		t.Errorf("%s has mode %v, want -r-xr-xr-x", dst, fi.Mode())
	}
	if fileSum(t, dst) != want {
		t.Errorf("%s is not a copy of the running executable", dst)
	}
	// The copy runs.
	if r := runZdtDrain(t, dst, nil, "version"); r.code != 0 || r.stdout != "dev\n" {
		t.Errorf("the installed copy does not run: %+v", r)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".zdt-drain-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	exe := self(t)
	dir := t.TempDir()
	r := runZdtDrain(t, exe, nil, "install", dir)
	dst := filepath.Join(dir, "zdt-drain")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "zdt-drain: installed "+dst+" (") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("install: %+v", r)
	}
	checkInstalled(t, dst, fileSum(t, exe))
	// A second install replaces the read-only file (the init container may run again).
	if r := runZdtDrain(t, exe, nil, "install", dir); r.code != 0 {
		t.Errorf("second install: %+v", r)
	}
	checkInstalled(t, dst, fileSum(t, exe))

	if r := runZdtDrain(t, exe, nil, "install", filepath.Join(dir, "missing")); r.code == 0 || !strings.Contains(r.stderr, "install failed") {
		t.Errorf("install into a missing directory must fail: %+v", r)
	}
	if r := runZdtDrain(t, exe, nil, "install"); r.code == 0 {
		t.Errorf("install without a directory must fail: %+v", r)
	}
}

// As uid 65532, as an init container under the restricted profile runs: only the target
// directory (an emptyDir, mode 0777) is writable. Needs root to switch users.
func TestInstallAsNonRoot(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as uid 65532")
	}
	// A copy of the test binary that uid 65532 can reach (Go's build directory is 0700).
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(root, "src")
	os.Mkdir(src, 0o755)
	if r := runZdtDrain(t, self(t), nil, "install", src); r.code != 0 {
		t.Fatalf("install as root: %+v", r)
	}
	exe := filepath.Join(src, "zdt-drain")
	empty := filepath.Join(root, "emptydir")
	readonly := filepath.Join(root, "readonly")
	os.Mkdir(empty, 0o777)
	os.Chmod(empty, 0o777) // past the umask
	os.Mkdir(readonly, 0o755)
	as := func(args ...string) result {
		logFile := filepath.Join(root, "log")
		cmd := exec.Command(exe, args...)
		cmd.Env = []string{"ZDT_DRAIN_TEST_MAIN=1", "ZDT_DRAIN_LOG=" + logFile}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	}
	if r := as("install", empty); r.code != 0 {
		t.Fatalf("install as 65532: %+v", r)
	}
	dst := filepath.Join(empty, "zdt-drain")
	fi, _ := os.Stat(dst)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 {
		t.Errorf("installed file owned by %d, want 65532", st.Uid)
	}
	checkInstalled(t, dst, fileSum(t, exe))
	if r := as("install", readonly); r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("install into a directory uid 65532 cannot write must fail: %+v", r)
	}
}

// The real main package built by `go build`, with the version set by -ldflags as the image
// build sets it. Built with the test binary's own settings, so the packages come from the build
// cache (a CGO_ENABLED=0 -trimpath build would recompile net/http and its dependencies: about
// 50 s on two busy cores with a cold cache). That the image's build is static is checked by hand
// (file, ldd; see README.md): CGO_ENABLED=0 makes it so.
func TestBuiltBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "zdt-drain")
	cmd := exec.Command(gobin, "build", "-buildvcs=false", "-ldflags", "-X main.version=test-123", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	if b, err := exec.Command(out, "version").Output(); err != nil || string(b) != "test-123\n" {
		t.Errorf("version: %q, %v", b, err)
	}
	// Bad arguments as the real binary: exit 0 at once (no hold), the line on its stdout.
	cmd = exec.Command(out, "prestop", "--bogus")
	cmd.Env = append(os.Environ(), "ZDT_DRAIN_LOG=-")
	b, err := cmd.Output()
	if err != nil || !strings.HasPrefix(string(b), "zdt-drain: outcome=BadArguments") {
		t.Errorf("prestop --bogus: %q, %v", b, err)
	}
	// The real main measures the hold from its start: --hold 1 with a bad flag holds 1 s.
	cmd = exec.Command(out, "prestop", "--hold", "1", "--nope")
	cmd.Env = append(os.Environ(), "ZDT_DRAIN_LOG=-")
	t0 := time.Now()
	b, err = cmd.Output()
	within(t, time.Since(t0), time.Second, time.Second+slack)
	if err != nil || !strings.Contains(string(b), "slept the hold (1.00s)") {
		t.Errorf("prestop --hold 1 --nope: %q, %v", b, err)
	}
}

// The container's stdout is a FIFO: one without a reader must not block the open, and one whose
// reader stopped reading (full) must not keep the pod in its hook after the hold.
func TestLogTargetFIFOsDoNotBlock(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "stdout")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	args := prestopArgs(releasingGate(t), "5", "10")
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1", "ZDT_DRAIN_LOG=" + fifo}, args...)
	within(t, r.took, 0, slack)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "zdt-drain: pod=ns/web-1 app=web outcome=Released") {
		t.Errorf("with no reader on the FIFO the line goes to stdout: %+v", r)
	}

	// A reader that never reads, and a pipe filled to the brim.
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	wr, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	chunk := make([]byte, 4096)
	for {
		wr.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := wr.Write(chunk); err != nil {
			break
		}
	}
	r = runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1", "ZDT_DRAIN_LOG=" + fifo}, args...)
	within(t, r.took, lineWriteTimeout, lineWriteTimeout+slack)
	if r.code != 0 {
		t.Errorf("%+v", r)
	}
}
