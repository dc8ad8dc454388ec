package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Against real HTTP servers on the real clock. Lower bounds on the time held are strict (the
// helper must never let a pod go early); upper bounds allow slack for a loaded machine.
const slack = 1500 * time.Millisecond

func cfgFor(gate string, hold time.Duration) config {
	return config{gate: gate, namespace: "ns", app: "web", pod: "web-1", hold: hold, deadline: hold}
}

// holdReal runs prestop with the real deps and returns the report and the time it took.
func holdReal(t *testing.T, cfg config) (report, time.Duration) {
	t.Helper()
	start := time.Now()
	r := prestop(context.Background(), cfg, start, realDeps(nil))
	took := time.Since(start)
	t.Logf("%s (took %s)", r.line(), fmtSeconds(took))
	return r, took
}

func within(t *testing.T, took, min, max time.Duration) {
	t.Helper()
	if took < min {
		t.Errorf("took %v: less than %v, the pod would have been let go early", took, min)
	}
	if took > max {
		t.Errorf("took %v: more than %v", took, max)
	}
}

func TestGateAnswers200AfterOneSecond(t *testing.T) {
	t.Parallel()
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		time.Sleep(time.Second)
		fmt.Fprint(w, "Verified after 1.0s: Traefik dropped the pod\n")
	}))
	defer srv.Close()
	r, took := holdReal(t, cfgFor(srv.URL, 5*time.Second))
	within(t, took, time.Second, time.Second+slack)
	if r.outcome != outcomeReleased || r.attempts != 1 || r.gateText != "Verified after 1.0s: Traefik dropped the pod\n" {
		t.Errorf("report %+v", r)
	}
	if p := path.Load(); p != "/gate/v1/ns/web/web-1" {
		t.Errorf("the gate saw path %v", p)
	}
	if line := r.line(); !strings.Contains(line, `outcome=Released`) || !strings.Contains(line, `gate="Verified after 1.0s: Traefik dropped the pod"`) {
		t.Errorf("line %s", line)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestGateRefusedHoldsTheFullHold(t *testing.T) {
	t.Parallel()
	hold := 1500 * time.Millisecond
	r, took := holdReal(t, cfgFor(closedPort(t), hold))
	within(t, took, hold, hold+slack)
	if r.outcome != outcomeHoldExpired || r.attempts < 2 || !strings.Contains(r.reason, "refused") {
		t.Errorf("want HoldExpired after at least 2 refused attempts (at 0 s and 1 s): %+v", r)
	}
}

// A gate that accepts the connection and never answers: the attempt's timeout is the hold.
func TestGateNeverAnswersReturnsAtTheHold(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // kept open, never read, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	hold := 1500 * time.Millisecond
	r, took := holdReal(t, cfgFor("http://"+l.Addr().String(), hold))
	within(t, took, hold, hold+slack)
	if r.outcome != outcomeHoldExpired || r.attempts != 1 || !strings.Contains(r.reason, "no answer before the hold ran out") {
		t.Errorf("report %+v", r)
	}
}

// The first call is held and then dropped (a replica dies); the retry reaches one that answers.
func TestGateDroppedMidHoldRetriesAndReleases(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond)
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		fmt.Fprint(w, "Verified after 0.0s: second replica")
	}))
	defer srv.Close()
	r, took := holdReal(t, cfgFor(srv.URL, 5*time.Second))
	// 0.3 s held, dropped, 1 s pause, released.
	within(t, took, 1300*time.Millisecond, 1300*time.Millisecond+slack)
	if r.outcome != outcomeReleased || r.attempts != 2 || r.gateText != "Verified after 0.0s: second replica" {
		t.Errorf("report %+v", r)
	}
}

func TestGateRefusalsThenRelease(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 503, 409, 500} {
		status := status
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					if status == 429 || status == 503 {
						w.Header().Set("Retry-After", "1")
					}
					w.WriteHeader(status)
					fmt.Fprintln(w, "not now")
					return
				}
				fmt.Fprint(w, "Verified after 0.0s: ok")
			}))
			defer srv.Close()
			r, took := holdReal(t, cfgFor(srv.URL, 5*time.Second))
			within(t, took, time.Second, time.Second+slack) // the 1 s pause, then released
			if r.outcome != outcomeReleased || r.attempts != 2 || calls.Load() != 2 {
				t.Errorf("report %+v, %d calls", r, calls.Load())
			}
		})
	}
}

// 400, 401, 403, 404 will not change: one call, then the full hold without asking again.
func TestGateFinalAnswersHoldWithoutRetry(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404} {
		status := status
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(status)
				fmt.Fprintln(w, "no such app: ns/web")
			}))
			defer srv.Close()
			hold := 1500 * time.Millisecond
			r, took := holdReal(t, cfgFor(srv.URL, hold))
			within(t, took, hold, hold+slack)
			want := fmt.Sprintf("not asked again after HTTP %d: no such app: ns/web", status)
			if r.outcome != outcomeHoldExpired || calls.Load() != 1 || !strings.Contains(r.reason, want) {
				t.Errorf("report %+v, %d calls; want reason %q", r, calls.Load(), want)
			}
		})
	}
}

// The token from ZDT_GATE_TOKEN goes to the gate as a bearer token; a 401 then holds the pod
// for the whole hold, asked once (a refused token will not become valid during the drain).
func TestTheTokenIsSentAndA401HoldsTheWholeHold(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		got.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "a token that is not valid for ns/web\n")
	}))
	defer srv.Close()
	cfg, err := parsePrestop([]string{"--gate", srv.URL, "--namespace", "ns", "--app", "web", "--pod", "web-1",
		"--hold", "2", "--deadline", "2"}, func(k string) string {
		if k == "ZDT_GATE_TOKEN" {
			return "v1.abc"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	r, took := holdReal(t, cfg)
	within(t, took, 2*time.Second, 2*time.Second+slack)
	if h := got.Load(); h != "Bearer v1.abc" {
		t.Errorf("the gate saw Authorization %q", h)
	}
	if calls.Load() != 1 || r.outcome != outcomeHoldExpired {
		t.Errorf("calls %d, report %+v", calls.Load(), r)
	}
}

// Without ZDT_GATE_TOKEN no Authorization header is sent at all.
func TestNoTokenNoHeader(t *testing.T) {
	t.Parallel()
	var sent atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, has := r.Header["Authorization"]
		sent.Store(has)
		fmt.Fprint(w, "Verified\n")
	}))
	defer srv.Close()
	holdReal(t, cfgFor(srv.URL, time.Second))
	if sent.Load() {
		t.Error("an Authorization header was sent without a token")
	}
}

// The projected token is read from --token-file at each attempt (the kubelet rotates it), and it
// wins over an app token in the environment; a file that cannot be read sends no token.
func TestTheTokenFileIsReadAtEachAttempt(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		n := len(seen)
		mu.Unlock()
		if n == 1 {
			// The kubelet rotates the token between two attempts.
			if err := os.WriteFile(file, []byte("second"), 0o600); err != nil {
				t.Error(err)
			}
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusConflict)
			return
		}
		fmt.Fprint(w, "Verified\n")
	}))
	defer srv.Close()
	cfg, err := parsePrestop([]string{"--gate", srv.URL, "--namespace", "ns", "--app", "web", "--pod", "web-1",
		"--hold", "5", "--deadline", "5", "--token-file", file}, func(k string) string {
		if k == "ZDT_GATE_TOKEN" {
			return "v1.env"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := holdReal(t, cfg)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "Bearer first" || seen[1] != "Bearer second" || r.outcome != outcomeReleased {
		t.Errorf("the gate saw %q, report %+v", seen, r)
	}
}

func TestAnUnreadableTokenFileSendsNoToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxTokenFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{filepath.Join(dir, "missing"), big} {
		cfg := config{tokenFile: file, token: "v1.env"}
		if got := callToken(cfg); got != "" {
			t.Errorf("%s: sent token %q", file, got)
		}
	}
	if got := callToken(config{token: "v1.env"}); got != "v1.env" {
		t.Errorf("without --token-file the environment's token is sent, got %q", got)
	}
}
