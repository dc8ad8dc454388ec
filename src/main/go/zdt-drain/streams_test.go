package main

import (
	"bufio"
	"context"
	"errors"
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

// The stream phase: what counts as a connection still open, the wait on a fake clock, and the
// wait against real sockets read from the kernel's own /proc/net/tcp.

// Lines as the kernel writes them (8080 = 1F90, 8081 = 1F91, 9090 = 2382, 50000 = C350).
const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1001 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1002 1 0000000000000000 100 0 0 10 0
   2: 0A000105:1F90 0A000001:C350 01 00000000:00000000 00:00000000 00000000  1000        0 1003 1 0000000000000000 20 4 30 10 -1
   3: 0A000105:1F91 0A000001:C351 01 00000000:00000000 02:000AFC7E 00000000  1000        0 1004 2 0000000000000000 20 4 30 10 -1
   4: 0A000105:1F91 0A000002:C352 01 00000000:00000000 02:000AFC7E 00000000  1000        0 1005 2 0000000000000000 20 4 30 10 -1
   5: 0A000105:1F90 0A000001:C353 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   6: 0A000105:1F90 0A000001:C354 08 00000000:00000000 00:00000000 00000000  1000        0 1006 1 0000000000000000 20 4 30 10 -1
   7: 0A000105:C350 0A000009:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1007 1 0000000000000000 20 4 30 10 -1
   8: 0A000105:2382 0A000001:C355 01 00000000:00000000 00:00000000 00000000  1000        0 1008 1 0000000000000000 20 4 30 10 -1
   9: garbage
`

const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2001 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000A000105:1F91 0000000000000000FFFF00000A000003:C360 01 00000000:00000000 00:00000000 00000000  1000        0 2002 1 0000000000000000 20 4 30 10 -1
   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C361 01 00000000:00000000 00:00000000 00000000  1000        0 2003 1 0000000000000000 20 4 30 10 -1
   3: 00000000000000000000000001000000:C361 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2004 1 0000000000000000 20 4 30 10 -1
`

func TestCountEstablishedOnlyOnTheWatchedLocalPorts(t *testing.T) {
	watched := map[int]bool{8080: true, 8081: true}
	counts := map[int]int{}
	if err := countEstablished(strings.NewReader(procTCP), watched, counts); err != nil {
		t.Fatal(err)
	}
	// 8080: line 2 only (listen, TIME_WAIT, CLOSE_WAIT and a connection to a remote 8080 do not
	// count); 8081: lines 3 and 4; 9090 is not watched.
	if counts[8080] != 1 || counts[8081] != 2 || len(counts) != 2 {
		t.Errorf("IPv4: %v, want 8080:1 8081:2", counts)
	}
	if err := countEstablished(strings.NewReader(procTCP6), watched, counts); err != nil {
		t.Fatal(err)
	}
	// tcp6 adds an IPv4-mapped 8081 and a ::1 8080; its listener and client side do not count.
	if counts[8080] != 2 || counts[8081] != 3 {
		t.Errorf("IPv4 + IPv6: %v, want 8080:2 8081:3", counts)
	}
	if got := describeCounts(counts, []int{8080, 8081}); got != "5 (8080:2 8081:3)" {
		t.Errorf("describeCounts = %q", got)
	}
	if got := describeCounts(map[int]int{}, []int{8080}); got != "0" {
		t.Errorf("describeCounts(none) = %q", got)
	}
}

func TestCountEstablishedRefusesAnEndlessLine(t *testing.T) {
	huge := "header\n" + strings.Repeat("x", maxProcLine*4) + "\n"
	if err := countEstablished(strings.NewReader(huge), map[int]bool{80: true}, map[int]int{}); !errors.Is(err, bufio.ErrTooLong) {
		t.Errorf("err = %v, want a line too long", err)
	}
}

func TestReadConnectionsIPv6OffIsNoErrorButNothingReadableIs(t *testing.T) {
	dir := t.TempDir()
	tcp := filepath.Join(dir, "tcp")
	if err := os.WriteFile(tcp, []byte(procTCP), 0o644); err != nil {
		t.Fatal(err)
	}
	counts, err := readConnections([]string{tcp, filepath.Join(dir, "tcp6")}, []int{8081})
	if err != nil || counts[8081] != 2 {
		t.Errorf("tcp6 missing: %v, %v", counts, err)
	}
	if _, err := readConnections([]string{filepath.Join(dir, "no"), filepath.Join(dir, "no6")}, []int{8081}); err == nil {
		t.Errorf("no file at all must be an error, never 'no connection'")
	}
	if _, err := readConnections([]string{dir}, []int{8081}); err == nil { // a directory: unreadable
		t.Errorf("an unreadable table must be an error")
	}
}

func TestParsePorts(t *testing.T) {
	p, err := parsePorts("8081, 8080,8081")
	if err != nil || fmt.Sprint(p) != "[8080 8081]" {
		t.Errorf("parsePorts = %v, %v", p, err)
	}
	many := make([]string, maxStreamPorts+1)
	for i := range many {
		many[i] = fmt.Sprint(1000 + i)
	}
	for _, bad := range []string{"", "0", "65536", "http", "80,", "-1", strings.Join(many, ",")} {
		if p, err := parsePorts(bad); err == nil {
			t.Errorf("parsePorts(%q) = %v, want an error", bad, p)
		}
	}
}

func TestParsePrestopStreams(t *testing.T) {
	base := []string{"--gate", "http://g", "--namespace", "ns", "--app", "web", "--pod", "p", "--hold", "5", "--deadline", "40"}
	cfg, err := parsePrestop(append(append([]string{}, base...), "--streams-wait", "30", "--streams-ports", "8080,8081",
		"--streams-signal", `{"httpGet":{"path":"/drain-streams","port":8080}}`), env(nil))
	if err != nil || cfg.streamsWait != 30*time.Second || fmt.Sprint(cfg.streamsPorts) != "[8080 8081]" ||
		cfg.streamsSignal == nil || cfg.streamsSignal.HTTPGet.port != 8080 {
		t.Errorf("%+v, %v", cfg, err)
	}
	bad := map[string][]string{
		"need a --streams-wait above 0": {"--streams-ports", "8080"},
		"need a --streams-wait":         {"--streams-signal", `{"httpGet":{"port":8080}}`, "--streams-wait", "0"},
		"--streams-signal: ":            {"--streams-wait", "5", "--streams-signal", `{"httpGet":{"port":"http"}}`},
		"is not a port number":          {"--streams-wait", "5", "--streams-ports", "8080,x"},
		"--streams-wait \"-3\"":         {"--streams-wait", "-3"},
	}
	for want, extra := range bad {
		args := append(append([]string{}, base...), extra...)
		if _, err := parsePrestop(args, env(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want it to mention %q", extra, err, want)
		}
	}
}

func streamsCfg(wait, deadline time.Duration) config {
	signal, _ := parseHandler(`{"httpGet":{"path":"/drain-streams","port":8080}}`)
	return config{gate: "http://g", namespace: "ns", app: "a", pod: "p", hold: 5 * time.Second, deadline: deadline,
		streamsSignal: signal, streamsWait: wait, streamsPorts: []int{8080, 8081}}
}

func TestStreamsPhaseOnAFakeClock(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	t.Run("ends when the last connection closed", func(t *testing.T) {
		f := newFake(ans(200, -1)) // released at once
		f.conns = []map[int]int{{8081: 12}, {8081: 12}, {8081: 3}, {}}
		r := prestop(context.Background(), streamsCfg(30*s, 60*s), f.start, f.deps())
		if fmt.Sprint(f.hooks) != "[httpGet]" || f.hookTill != 30*s {
			t.Errorf("signal %v until %v, want httpGet until 30s (the wind-down)", f.hooks, f.hookTill)
		}
		if fmt.Sprint(f.looks) != "[0s 0s 200ms 400ms]" {
			t.Errorf("looked at %v", f.looks)
		}
		if want := "12 (8081:12) on 8080,8081 at the signal, 0 after 0.40s"; r.streamsResult != want {
			t.Errorf("result %q, want %q", r.streamsResult, want)
		}
		line := r.line()
		if !strings.HasSuffix(line, ` streams_signal="ran" streams="12 (8081:12) on 8080,8081 at the signal, 0 after 0.40s" streams_took=0.40s`) {
			t.Errorf("line = %s", line)
		}
	})
	t.Run("streams_took counts the signal as well as the wait", func(t *testing.T) {
		// The line is written after the whole phase: whoever reads the hold's end off the line's
		// time must subtract all of it, the signal's 300 ms included.
		f := newFake(ans(200, -1))
		f.hookTakes = 300 * ms
		f.conns = []map[int]int{{8081: 2}, {8081: 2}, {}}
		r := prestop(context.Background(), streamsCfg(30*s, 60*s), f.start, f.deps())
		if got := f.t.Sub(f.start); got != 500*ms || r.held != 0 {
			t.Fatalf("ended at %v, held %v; want 500ms, 0s", got, r.held)
		}
		if line := r.line(); !strings.HasSuffix(line, `at the signal, 0 after 0.50s" streams_took=0.50s`) {
			t.Errorf("line = %s", line)
		}
	})
	t.Run("an app that keeps its streams is waited for to the end of the wind-down", func(t *testing.T) {
		f := newFake(ans(200, -1))
		f.conns = []map[int]int{{8080: 1}}
		r := prestop(context.Background(), streamsCfg(3*s, 60*s), f.start, f.deps())
		if f.t.Sub(f.start) != 3*s || !strings.Contains(r.streamsResult, "1 (8080:1) left at the wind-down (3.00s)") ||
			!strings.HasSuffix(r.line(), " streams_took=3.00s") {
			t.Errorf("ended at %v: %q", f.t.Sub(f.start), r.streamsResult)
		}
	})
	t.Run("never past the deadline", func(t *testing.T) {
		// Hold 5 s expires (the gate refuses), deadline 7 s, wind-down 30 s: 2 s are left.
		f := newFake(ans(503, -1))
		f.conns = []map[int]int{{8080: 1}}
		r := prestop(context.Background(), streamsCfg(30*s, 7*s), f.start, f.deps())
		if f.t.Sub(f.start) != 7*s || f.hookTill != 7*s || !strings.Contains(r.streamsResult, "left at the deadline (2.00s)") ||
			!strings.HasSuffix(r.line(), " streams_took=2.00s") {
			t.Errorf("ended at %v, signal until %v: %q", f.t.Sub(f.start), f.hookTill, r.streamsResult)
		}
	})
	t.Run("no time left: skipped", func(t *testing.T) {
		f := newFake(ans(503, -1))
		r := prestop(context.Background(), streamsCfg(30*s, 5*s), f.start, f.deps())
		if len(f.hooks) != 0 || len(f.looks) != 0 || !strings.HasPrefix(r.streamsResult, "skipped: no time left") {
			t.Errorf("hooks %v looks %v: %q", f.hooks, f.looks, r.streamsResult)
		}
	})
	t.Run("connections that cannot be read are waited for, never taken as none", func(t *testing.T) {
		f := newFake(ans(200, -1))
		f.connsErr = errors.New("open /proc/net/tcp: permission denied")
		r := prestop(context.Background(), streamsCfg(2*s, 60*s), f.start, f.deps())
		if f.t.Sub(f.start) != 2*s || !strings.Contains(r.streamsResult, "unreadable at the signal") ||
			!strings.Contains(r.streamsResult, "waited 2.00s to the wind-down: connections unreadable") {
			t.Errorf("ended at %v: %q", f.t.Sub(f.start), r.streamsResult)
		}
	})
	t.Run("without ports only the signal", func(t *testing.T) {
		f := newFake(ans(200, -1))
		cfg := streamsCfg(30*s, 60*s)
		cfg.streamsPorts = nil
		r := prestop(context.Background(), cfg, f.start, f.deps())
		if len(f.looks) != 0 || f.t.Sub(f.start) != 0 || r.streamsResult != "not watched (no --streams-ports)" {
			t.Errorf("looks %v, ended at %v: %q", f.looks, f.t.Sub(f.start), r.streamsResult)
		}
	})
	t.Run("after the template's own hook, without a signal", func(t *testing.T) {
		f := newFake(ans(200, -1))
		cfg := streamsCfg(30*s, 60*s)
		cfg.streamsSignal = nil
		cfg.then, _ = parseHandler(`{"exec":{"command":["/app/quit"]}}`)
		f.conns = []map[int]int{{8081: 2}, {}}
		r := prestop(context.Background(), cfg, f.start, f.deps())
		if fmt.Sprint(f.hooks) != "[exec]" || r.streamsResult != "2 (8081:2) on 8080,8081 after the hook, 0 after 0.00s" {
			t.Errorf("hooks %v: %q", f.hooks, r.streamsResult)
		}
	})
	t.Run("a slow table is read less often", func(t *testing.T) {
		if pollPause(10*ms) != 200*ms || pollPause(300*ms) != 600*ms || pollPause(5*s) != 2*s {
			t.Errorf("pollPause: %v %v %v", pollPause(10*ms), pollPause(300*ms), pollPause(5*s))
		}
	})
}

// An app with one stream on a real socket: the helper signals it, sees the connection in the
// kernel's table, and lets go as soon as the app has closed it, long before the wind-down.
func TestStreamsWaitForARealConnectionToClose(t *testing.T) {
	if _, err := os.Stat(procNetFiles[0]); err != nil {
		t.Skip("no /proc/net/tcp here")
	}
	streams := make(chan net.Conn, 1)
	var signalled sync.Once
	signal := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n")
			buf.Flush()
			streams <- conn
		case "/drain-streams":
			signalled.Do(func() { close(signal) })
			w.WriteHeader(http.StatusAccepted) // ends the streams after it answered, as a slow app would
		}
	}))
	defer app.Close()
	port := app.Listener.Addr().(*net.TCPAddr).Port
	client, err := net.Dial("tcp", app.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	fmt.Fprintf(client, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	serverSide := <-streams
	go func() {
		<-signal
		time.Sleep(700 * time.Millisecond)
		serverSide.Close() // the app ends its stream
	}()
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "Verified") }))
	defer gate.Close()

	counts, err := readConnections(procNetFiles, []int{port})
	if err != nil || counts[port] != 1 {
		t.Fatalf("the open stream in the kernel's table: %v, %v (want exactly the app's side, not the client's)", counts, err)
	}
	cfg := cfgFor(gate.URL, 5*time.Second)
	cfg.deadline = 30 * time.Second
	cfg.podIP = "127.0.0.1"
	cfg.streamsWait = 20 * time.Second
	cfg.streamsPorts = []int{port}
	cfg.streamsSignal, _ = parseHandler(fmt.Sprintf(`{"httpGet":{"path":"/drain-streams","port":%d}}`, port))
	r, took := holdReal(t, cfg)
	within(t, took, 700*time.Millisecond, 700*time.Millisecond+slack)
	want := fmt.Sprintf("1 (%d:1) on %d at the signal, 0 after ", port, port)
	if r.outcome != outcomeReleased || !strings.HasPrefix(r.streamsResult, want) || !strings.Contains(r.streamsSignal, "HTTP 202") {
		t.Errorf("%s", r.line())
	}
}

// The same stream, but the app ignores the signal: the helper waits the wind-down, not longer.
func TestStreamsAStreamThatStaysOpenIsWaitedForUntilTheWindDown(t *testing.T) {
	if _, err := os.Stat(procNetFiles[0]); err != nil {
		t.Skip("no /proc/net/tcp here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	defer (<-accepted).Close()
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "Verified") }))
	defer gate.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := cfgFor(gate.URL, 5*time.Second)
	cfg.deadline = 30 * time.Second
	cfg.streamsWait = 1500 * time.Millisecond
	cfg.streamsPorts = []int{port}
	r, took := holdReal(t, cfg)
	within(t, took, 1500*time.Millisecond, 1500*time.Millisecond+slack)
	if !strings.Contains(r.streamsResult, fmt.Sprintf("1 (%d:1) on %d after the hold, 1 (%d:1) left at the wind-down", port, port, port)) {
		t.Errorf("%s", r.line())
	}
}
