package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Pure functions and the retry logic on a fake clock: fast and exact.

func TestClassify(t *testing.T) {
	cases := []struct {
		a    gateAnswer
		want verdict
	}{
		{gateAnswer{status: 200}, release},
		{gateAnswer{status: 400}, final},
		{gateAnswer{status: 401}, final},
		{gateAnswer{status: 403}, final},
		{gateAnswer{status: 404}, final},
		{gateAnswer{status: 409}, retry},
		{gateAnswer{status: 429}, retry},
		{gateAnswer{status: 503}, retry},
		{gateAnswer{status: 500}, retry},
		{gateAnswer{status: 204}, retry}, // only a 200 releases
		{gateAnswer{status: 302}, retry},
		{gateAnswer{status: 200, err: errors.New("x")}, retry},
		{gateAnswer{err: errors.New("connection refused")}, retry},
	}
	for _, c := range cases {
		if got := classify(c.a); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.a, got, c.want)
		}
	}
}

func TestRetryPause(t *testing.T) {
	s := time.Second
	cases := []struct {
		ra, left, want time.Duration
	}{
		{-1, 10 * s, s},        // no Retry-After: 1 s
		{3 * s, 10 * s, 3 * s}, // Retry-After shorter than what is left: honoured
		{30 * s, 10 * s, s},    // longer than what is left: ignored (another replica may answer)
		{0, 10 * s, minPause},  // never a busy loop
		{-1, 300 * time.Millisecond, 300 * time.Millisecond}, // never past the hold
		{3 * s, 2 * s, s},
	}
	for _, c := range cases {
		if got := retryPause(gateAnswer{retryAfter: c.ra}, c.left); got != c.want {
			t.Errorf("retryPause(ra=%v, left=%v) = %v, want %v", c.ra, c.left, got, c.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":     -1,
		"1":    time.Second,
		" 2 ":  2 * time.Second,
		"-1":   -1,
		"soon": -1,
		"1.5":  -1,
		now.Add(4 * time.Second).Format(http.TimeFormat): 4 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):      0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParsePrestop(t *testing.T) {
	base := []string{"--gate", "http://10.96.0.20:80", "--namespace", "ns", "--app", "web", "--hold", "1.5", "--deadline", "25"}
	cfg, err := parsePrestop(append(base, "--pod", "web-1"), env(map[string]string{"ZDT_POD_NAME": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.pod != "web-1" || cfg.hold != 1500*time.Millisecond || cfg.deadline != 25*time.Second || cfg.then != nil {
		t.Errorf("got %+v", cfg)
	}
	if got, want := gateURL(cfg), "http://10.96.0.20:80/gate/v1/ns/web/web-1"; got != want {
		t.Errorf("gateURL = %q, want %q", got, want)
	}
	cfg, err = parsePrestop(base, env(map[string]string{"ZDT_POD_NAME": "from-env", "ZDT_POD_IP": "10.244.0.9"}))
	if err != nil || cfg.pod != "from-env" || cfg.podIP != "10.244.0.9" {
		t.Errorf("pod from ZDT_POD_NAME: %+v, %v", cfg, err)
	}
	host, _ := os.Hostname()
	cfg, err = parsePrestop(base, env(nil))
	if err != nil || cfg.pod != host || host == "" {
		t.Errorf("pod from the hostname %q: %+v, %v", host, cfg, err)
	}
	cfg, err = parsePrestop([]string{"--gate=http://g/prefix/", "--namespace=a", "--app=b", "--pod=c d", "--hold=0", "--deadline=0",
		`--then={"sleep":{"seconds":2}}`}, env(nil))
	if err != nil || cfg.then == nil || cfg.then.Sleep.Seconds != 2 {
		t.Fatalf("= form: %+v, %v", cfg, err)
	}
	if got, want := gateURL(cfg), "http://g/prefix/gate/v1/a/b/c%20d"; got != want {
		t.Errorf("gateURL = %q, want %q", got, want)
	}

	bad := map[string][]string{
		"--gate is missing":      {"--namespace", "ns", "--app", "a", "--hold", "1", "--deadline", "2"},
		"--hold is missing":      {"--gate", "http://g", "--namespace", "ns", "--app", "a", "--deadline", "2"},
		"--deadline is missing":  {"--gate", "http://g", "--namespace", "ns", "--app", "a", "--hold", "2"},
		"not a number":           append(append([]string{}, base...), "--hold", "-1"),
		"must look like":         {"--gate", "10.96.0.20:80", "--namespace", "ns", "--app", "a", "--hold", "1", "--deadline", "2"},
		"not defined":            append(append([]string{}, base...), "--nope", "1"),
		"unexpected argument":    append(append([]string{}, base...), "extra"),
		"--then":                 append(append([]string{}, base...), "--then", `{"exec":{}}`),
		"--namespace is missing": {"--gate", "http://g", "--app", "a", "--hold", "1", "--deadline", "2"},
	}
	for want, args := range bad {
		if _, err := parsePrestop(args, env(map[string]string{"ZDT_POD_NAME": "p"})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want it to mention %q", args, err, want)
		}
	}
}

func TestFindHold(t *testing.T) {
	cases := []struct {
		args []string
		want time.Duration
		ok   bool
	}{
		{[]string{"--nope", "--hold", "2"}, 2 * time.Second, true},
		{[]string{"--hold=0.5", "--gate"}, 500 * time.Millisecond, true},
		{[]string{"-hold", "3"}, 3 * time.Second, true},
		{[]string{"--hold"}, 0, false},
		{[]string{"--hold", "x"}, 0, false},
		{[]string{"--deadline", "3"}, 0, false},
	}
	for _, c := range cases {
		got, ok := findHold(c.args)
		if got != c.want || ok != c.ok {
			t.Errorf("findHold(%v) = %v, %v; want %v, %v", c.args, got, ok, c.want, c.ok)
		}
	}
}

func TestParseHandler(t *testing.T) {
	good := map[string]string{
		`{"exec":{"command":["/bin/x","a"]}}`: "exec",
		`{"httpGet":{"path":"/quit","port":8080,"host":"","scheme":"HTTP","httpHeaders":[{"name":"X","value":"y"}]}}`: "httpGet",
		`{"httpGet":{"path":"/quit","port":"8080"}}`:                                                                  "httpGet",
		`{"sleep":{"seconds":5}}`: "sleep",
	}
	for in, kind := range good {
		h, err := parseHandler(in)
		if err != nil || h.kind() != kind {
			t.Errorf("parseHandler(%s) = %v, %v; want kind %s", in, h, err, kind)
		}
	}
	bad := []string{
		``, `{}`, `[]`, `{"exec":{"command":[]}}`, `{"httpGet":{"port":"http"}}`, `{"httpGet":{"port":0}}`,
		`{"httpGet":{"port":80,"scheme":"FTP"}}`, `{"sleep":{"seconds":-1}}`, `{"tcpSocket":{"port":80}}`,
		`{"sleep":{"seconds":1},"exec":{"command":["x"]}}`, `{"sleep":{"seconds":1}} {}`, `{"sleep":`,
	}
	for _, in := range bad {
		if h, err := parseHandler(in); err == nil {
			t.Errorf("parseHandler(%s) = %+v, want an error", in, h)
		}
	}
}

func TestCleanAndLineBounded(t *testing.T) {
	if got := clean("a\n\tb\x00c\xff  d", 100); got != "a b?c? d" {
		t.Errorf("clean = %q", got)
	}
	long := strings.Repeat("é", 500)
	if got := clean(long, 200); len([]rune(got)) != 203 || !strings.HasSuffix(got, "...") {
		t.Errorf("clean(long) has %d runes", len([]rune(got)))
	}
	r := report{
		cfg:     config{namespace: "ns", app: "web", pod: "web-1"},
		outcome: outcomeReleased, held: 3210 * time.Millisecond, attempts: 1,
		gateText: "Verified after 3.2s: \"ok\"\n" + strings.Repeat("x", 5000),
		hookKind: "exec", hookRan: true, hookResult: "exit 0", hookTook: 100 * time.Millisecond,
	}
	line := r.line()
	if strings.ContainsAny(line, "\n\r") || len(line) > 600 {
		t.Errorf("line not one bounded line (%d bytes): %q", len(line), line)
	}
	want := `zdt-drain: pod=ns/web-1 app=web outcome=Released held=3.21s attempts=1 gate="Verified after 3.2s: 'ok' xxx`
	if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, `..." hook=exec hook_result="exit 0" hook_took=0.10s`) {
		t.Errorf("line = %q", line)
	}
}

// fake is a clock that only moves when slept on, and a gate that answers from a script.
type fake struct {
	t         time.Time
	start     time.Time
	answers   []gateAnswer // the last one repeats
	askedAt   []time.Duration
	hookAt    time.Duration
	hookTill  time.Duration
	hooked    bool
	sleepMax  time.Duration // > 0: each sleep moves the clock at most this far (early wake-ups)
	conns     []map[int]int // what each look at the connections sees; the last one repeats
	connsErr  error         // returned by every look instead, when set
	looks     []time.Duration
	hooks     []string      // the kind of each hook run, the stream signal's included
	hookTakes time.Duration // how far each hook moves the clock
}

func newFake(answers ...gateAnswer) *fake {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &fake{t: t0, start: t0, answers: answers}
}

func (f *fake) deps() deps {
	return deps{
		now: func() time.Time { return f.t },
		sleep: func(_ context.Context, d time.Duration) {
			if f.sleepMax > 0 && d > f.sleepMax {
				d = f.sleepMax
			}
			f.t = f.t.Add(d)
		},
		ask: func(ctx context.Context, _, _ string) gateAnswer {
			f.askedAt = append(f.askedAt, f.t.Sub(f.start))
			a := f.answers[0]
			if len(f.answers) > 1 {
				f.answers = f.answers[1:]
			}
			if a.err == context.DeadlineExceeded { // a call the gate holds until the hold is over
				dl, _ := ctx.Deadline()
				f.t = dl
			}
			return a
		},
		hook: func(_ context.Context, h *handler, _ config, until time.Time) string {
			f.hooked = true
			f.hookAt = f.t.Sub(f.start)
			f.hookTill = until.Sub(f.start)
			f.hooks = append(f.hooks, h.kind())
			f.t = f.t.Add(f.hookTakes)
			return "ran"
		},
		conns: func([]int) (map[int]int, error) {
			f.looks = append(f.looks, f.t.Sub(f.start))
			if f.connsErr != nil {
				return nil, f.connsErr
			}
			c := f.conns[0]
			if len(f.conns) > 1 {
				f.conns = f.conns[1:]
			}
			return c, nil
		},
	}
}

func ans(status int, retryAfter time.Duration) gateAnswer {
	return gateAnswer{status: status, text: http.StatusText(status), retryAfter: retryAfter}
}

func TestPrestopRetryScript(t *testing.T) {
	s := time.Second
	refused := gateAnswer{err: errors.New("connect: connection refused"), retryAfter: -1}
	cases := []struct {
		name     string
		hold     time.Duration
		answers  []gateAnswer
		outcome  string
		askedAt  []time.Duration
		held     time.Duration
		reasonIn string
	}{
		{"503 409 200", 10 * s, []gateAnswer{ans(503, -1), ans(409, -1), ans(200, -1)}, outcomeReleased, []time.Duration{0, s, 2 * s}, 2 * s, ""},
		{"429 Retry-After 3 honoured", 10 * s, []gateAnswer{ans(429, 3*s), ans(200, -1)}, outcomeReleased, []time.Duration{0, 3 * s}, 3 * s, ""},
		{"429 Retry-After past the hold", 2500 * time.Millisecond, []gateAnswer{ans(429, 30*s)}, outcomeHoldExpired, []time.Duration{0, s, 2 * s}, 2500 * time.Millisecond, "HTTP 429"},
		{"refused until the hold", 2500 * time.Millisecond, []gateAnswer{refused}, outcomeHoldExpired, []time.Duration{0, s, 2 * s}, 2500 * time.Millisecond, "refused"},
		{"404 not asked again", 5 * s, []gateAnswer{ans(404, -1), ans(200, -1)}, outcomeHoldExpired, []time.Duration{0}, 5 * s, "not asked again after HTTP 404"},
		{"403 not asked again", 5 * s, []gateAnswer{ans(403, -1), ans(200, -1)}, outcomeHoldExpired, []time.Duration{0}, 5 * s, "403"},
		{"held call times out", 5 * s, []gateAnswer{{err: context.DeadlineExceeded, retryAfter: -1}}, outcomeHoldExpired, []time.Duration{0}, 5 * s, "deadline"},
		{"hold 0: not asked", 0, []gateAnswer{ans(200, -1)}, outcomeHoldExpired, nil, 0, "passed before the gate could be asked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(c.answers...)
			cfg := config{gate: "http://g", namespace: "ns", app: "a", pod: "p", hold: c.hold, deadline: c.hold}
			r := prestop(context.Background(), cfg, f.start, f.deps())
			if r.outcome != c.outcome || r.held != c.held || r.attempts != len(c.askedAt) {
				t.Errorf("outcome %s held %v attempts %d; want %s %v %d", r.outcome, r.held, r.attempts, c.outcome, c.held, len(c.askedAt))
			}
			if len(f.askedAt) != len(c.askedAt) {
				t.Fatalf("asked at %v, want %v", f.askedAt, c.askedAt)
			}
			for i := range c.askedAt {
				if f.askedAt[i] != c.askedAt[i] {
					t.Errorf("asked at %v, want %v", f.askedAt, c.askedAt)
				}
			}
			if !strings.Contains(r.reason, c.reasonIn) {
				t.Errorf("reason %q does not mention %q", r.reason, c.reasonIn)
			}
		})
	}
}

// A sleep that wakes up early (here: at most 0.3 s at a time) must not shorten the hold.
func TestPrestopEarlyWakeupsStillHoldTheFullHold(t *testing.T) {
	f := newFake(ans(404, -1))
	f.sleepMax = 300 * time.Millisecond
	cfg := config{gate: "http://g", namespace: "ns", app: "a", pod: "p", hold: 2 * time.Second, deadline: 2 * time.Second}
	r := prestop(context.Background(), cfg, f.start, f.deps())
	if r.held < 2*time.Second || r.outcome != outcomeHoldExpired {
		t.Errorf("held %v (%s), want at least 2s", r.held, r.outcome)
	}
}

func TestPrestopHookWindow(t *testing.T) {
	h, _ := parseHandler(`{"sleep":{"seconds":1}}`)
	// Released at 2 s, deadline 30 s: the hook runs at 2 s and may run until 30 s.
	f := newFake(ans(409, -1), ans(409, -1), ans(200, -1))
	cfg := config{gate: "http://g", namespace: "ns", app: "a", pod: "p", hold: 10 * time.Second, deadline: 30 * time.Second, then: h}
	r := prestop(context.Background(), cfg, f.start, f.deps())
	if !f.hooked || f.hookAt != 2*time.Second || f.hookTill != 30*time.Second || r.hookResult != "ran" || r.hookKind != "sleep" {
		t.Errorf("hook ran %v at %v until %v: %+v", f.hooked, f.hookAt, f.hookTill, r)
	}
	// Hold 10 s, deadline 10 s, the gate never releases: no time left, the hook is skipped.
	f = newFake(ans(503, -1))
	cfg.deadline = 10 * time.Second
	r = prestop(context.Background(), cfg, f.start, f.deps())
	if f.hooked || r.hookRan || !strings.Contains(r.hookResult, "skipped: no time left") {
		t.Errorf("hook should be skipped: %+v", r)
	}
	if line := r.line(); !strings.Contains(line, `hook=sleep hook_result="skipped: no time left before the deadline (10.00s after start; 10.00s passed)"`) {
		t.Errorf("line = %s", line)
	}
}
