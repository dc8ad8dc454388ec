package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The template's own hook, chained after the hold. Exec hooks run as real processes: the test
// binary is both zdt-drain and the hook's command (see TestMain).

func thenJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHookExecRunsWithoutShellAndInheritsEnv(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "hook-wrote")
	then := thenJSON(t, map[string]any{"exec": map[string]any{"command": []string{self(t), "test-child-write", out, "a b", "$HOME"}}})
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1", "ZDT_DRAIN_TEST_VALUE=inherited"},
		prestopArgs(releasingGate(t), "5", "10", "--then", then)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the exec hook did not write its file: %v", err)
	}
	// No shell: "$HOME" arrives as is, "a b" as one argument.
	if got, want := string(b), "inherited|a b|$HOME"; got != want {
		t.Errorf("the hook wrote %q, want %q", got, want)
	}
	// The hook's output goes to the log target, before the one zdt-drain line.
	if r.code != 0 || !strings.HasPrefix(r.log, "child wrote "+out+"\nzdt-drain: pod=ns/web-1 app=web outcome=Released") ||
		!strings.Contains(r.log, ` hook=exec hook_result="exit 0" hook_took=`) {
		t.Errorf("%+v", r)
	}
}

func TestHookExecExitCodeAndMissingCommand(t *testing.T) {
	t.Parallel()
	then := thenJSON(t, map[string]any{"exec": map[string]any{"command": []string{self(t), "test-child-exit", "3"}}})
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, prestopArgs(releasingGate(t), "5", "10", "--then", then)...)
	if r.code != 0 || !strings.Contains(r.log, `hook=exec hook_result="exit 3"`) {
		t.Errorf("a failing hook must be reported and zdt-drain still exit 0: %+v", r)
	}
	then = `{"exec":{"command":["/nonexistent/quit"]}}`
	r = runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, prestopArgs(releasingGate(t), "5", "10", "--then", then)...)
	if r.code != 0 || !strings.Contains(r.log, `hook=exec hook_result="could not start: fork/exec /nonexistent/quit: no such file or directory"`) {
		t.Errorf("%+v", r)
	}
}

// The hook may run until --deadline after zdt-drain started, then it is killed.
func TestHookExecKilledAtTheDeadline(t *testing.T) {
	t.Parallel()
	then := thenJSON(t, map[string]any{"exec": map[string]any{"command": []string{self(t), "test-child-sleep"}}})
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, prestopArgs(releasingGate(t), "5", "1.5", "--then", then)...)
	within(t, r.took, 1500*time.Millisecond, 1500*time.Millisecond+slack)
	if r.code != 0 || !strings.Contains(r.log, `hook=exec hook_result="killed at the deadline"`) {
		t.Errorf("%+v", r)
	}
}

func TestHookHTTPGet(t *testing.T) {
	t.Parallel()
	type seen struct{ path, header, host, ua string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.URL.RequestURI(), r.Header.Get("X-Drain"), r.Host, r.UserAgent()})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	p := srv.Listener.Addr().(*net.TCPAddr).Port
	// host "" is 127.0.0.1, the pod's own network namespace.
	then := thenJSON(t, map[string]any{"httpGet": map[string]any{"path": "/quit?now=1", "port": p, "host": "", "scheme": "HTTP",
		"httpHeaders": []map[string]string{{"name": "X-Drain", "value": "yes"}, {"name": "Host", "value": "app.example"}}}})
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, prestopArgs(releasingGate(t), "5", "10", "--then", then)...)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].path != "/quit?now=1" || got[0].header != "yes" || got[0].host != "app.example" ||
		!strings.HasPrefix(got[0].ua, "kube-lifecycle/") {
		t.Errorf("the hook's server saw %+v", got)
	}
	want := fmt.Sprintf(`hook=httpGet hook_result="GET http://127.0.0.1:%d/quit?now=1: HTTP 202"`, p)
	if r.code != 0 || !strings.Contains(r.log, want) {
		t.Errorf("log %q does not contain %q", r.log, want)
	}
}

// HTTPS without verifying the certificate, as the kubelet does; an error status is reported.
func TestHookHTTPSDoesNotVerify(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	p := srv.Listener.Addr().(*net.TCPAddr).Port
	h, err := parseHandler(fmt.Sprintf(`{"httpGet":{"path":"quit","port":%d,"scheme":"HTTPS"}}`, p))
	if err != nil {
		t.Fatal(err)
	}
	res := runHook(context.Background(), h, config{}, time.Now().Add(5*time.Second), nil)
	if want := fmt.Sprintf("GET https://127.0.0.1:%d/quit: HTTP 500", p); res != want {
		t.Errorf("got %q, want %q", res, want)
	}
}

func TestHookSleep(t *testing.T) {
	t.Parallel()
	h, _ := parseHandler(`{"sleep":{"seconds":1}}`)
	cfg := cfgFor(releasingGate(t), 5*time.Second)
	cfg.deadline = 10 * time.Second
	cfg.then = h
	r, took := holdReal(t, cfg)
	within(t, took, time.Second, time.Second+slack)
	if r.outcome != outcomeReleased || r.hookResult != "slept 1.00s" || r.hookTook < time.Second {
		t.Errorf("%+v", r)
	}
	// Cut at the deadline.
	h, _ = parseHandler(`{"sleep":{"seconds":30}}`)
	cfg.then, cfg.deadline = h, time.Second
	r, took = holdReal(t, cfg)
	within(t, took, time.Second, time.Second+slack)
	if !strings.Contains(r.hookResult, "cut at the deadline") {
		t.Errorf("%+v", r)
	}
}

// The hold used all the time up to the deadline: the hook is skipped, and the line says so.
func TestHookSkippedWhenNoTimeLeft(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "hook-wrote")
	then := thenJSON(t, map[string]any{"exec": map[string]any{"command": []string{self(t), "test-child-write", out}}})
	r := runZdtDrain(t, self(t), []string{"ZDT_POD_NAME=web-1"}, prestopArgs(closedPort(t), "1", "1", "--then", then)...)
	within(t, r.took, time.Second, time.Second+slack)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the hook ran although no time was left")
	}
	if r.code != 0 || !strings.Contains(r.log, "outcome=HoldExpired") ||
		!strings.Contains(r.log, `hook=exec hook_result="skipped: no time left before the deadline (1.00s after start;`) {
		t.Errorf("%+v", r)
	}
}
