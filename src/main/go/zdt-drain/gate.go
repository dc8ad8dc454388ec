package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// deps is what prestop needs from the outside world, injectable for tests.
type deps struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) // may return early when ctx is done
	ask   func(ctx context.Context, url, token string) gateAnswer
	hook  func(ctx context.Context, h *handler, cfg config, until time.Time) string
	conns func(ports []int) (map[int]int, error) // ESTABLISHED connections per watched local port
}

// realDeps uses the real clock and network; the exec hook's output goes to hookOut (nil: none).
func realDeps(hookOut io.Writer) deps {
	return deps{
		now:   time.Now,
		sleep: realSleep,
		ask:   newGateClient().ask,
		hook: func(ctx context.Context, h *handler, cfg config, until time.Time) string {
			return runHook(ctx, h, cfg, until, hookOut)
		},
		conns: func(ports []int) (map[int]int, error) { return readConnections(procNetFiles, ports) },
	}
}

func realSleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// sleepUntil sleeps until the clock reads at least t. It loops so that a sleep that returns
// early can never shorten a hold.
func sleepUntil(ctx context.Context, d deps, t time.Time) {
	for {
		left := t.Sub(d.now())
		if left <= 0 || ctx.Err() != nil {
			return
		}
		d.sleep(ctx, left)
	}
}

// gateAnswer is one attempt's result: a status and text, or an error (no HTTP answer).
type gateAnswer struct {
	status     int
	text       string
	retryAfter time.Duration // from Retry-After; negative when absent or unreadable
	err        error
}

func (a gateAnswer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	if a.text == "" {
		return fmt.Sprintf("HTTP %d", a.status)
	}
	return fmt.Sprintf("HTTP %d: %s", a.status, a.text)
}

type verdict int

const (
	release verdict = iota // 200: the pod may get SIGTERM now
	retry                  // may change: another replica may answer, or this one later
	final                  // will not change: wait out the hold without asking again
)

// classify decides what an answer means. Fail safe: anything but a 200 keeps the pod held.
func classify(a gateAnswer) verdict {
	if a.err != nil {
		return retry // refused, DNS, timeout, dropped mid-hold
	}
	switch a.status {
	case http.StatusOK:
		return release
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return final
	default:
		return retry // 409 not terminating yet, 429 limits, 503 not synced or shutting down, 5xx...
	}
}

// Pauses between attempts: 1 s, or the gate's Retry-After if that is shorter than what is left;
// never past the hold, and never so short that a gate answering at once makes a busy loop.
const (
	defaultPause = time.Second
	minPause     = 100 * time.Millisecond
)

func retryPause(a gateAnswer, left time.Duration) time.Duration {
	p := defaultPause
	if a.retryAfter >= 0 && a.retryAfter < left {
		p = a.retryAfter
	}
	if p < minPause {
		p = minPause
	}
	if p > left {
		p = left
	}
	return p
}

// parseRetryAfter reads delay-seconds or an HTTP date; negative when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > maxSeconds {
			return -1
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return -1
}

// prestop holds the pod until the gate releases it or the hold has passed, then runs the
// user's hook within the deadline, then (with --streams-wait) the stream phase.
func prestop(ctx context.Context, cfg config, start time.Time, d deps) report {
	r := report{cfg: cfg, outcome: outcomeHoldExpired}
	holdEnd := start.Add(cfg.hold)
	target := gateURL(cfg)
	var last gateAnswer
	asked := false
	for {
		left := holdEnd.Sub(d.now())
		if left <= 0 || ctx.Err() != nil {
			break
		}
		// Each attempt may take whatever is left of the hold, and no more.
		actx, cancel := context.WithDeadline(ctx, holdEnd)
		last = d.ask(actx, target, callToken(cfg))
		cancel()
		asked = true
		r.attempts++
		v := classify(last)
		if v == release {
			r.outcome = outcomeReleased
			r.gateText = last.text
			break
		}
		if v == final {
			sleepUntil(ctx, d, holdEnd)
			break
		}
		left = holdEnd.Sub(d.now())
		if left <= 0 {
			break
		}
		d.sleep(ctx, retryPause(last, left))
	}
	if r.outcome != outcomeReleased {
		sleepUntil(ctx, d, holdEnd) // whatever happened above, never less than the hold
		switch {
		case !asked:
			r.reason = "the hold (" + fmtSeconds(cfg.hold) + ") passed before the gate could be asked"
		case classify(last) == final:
			r.reason = "not asked again after " + last.String()
		default:
			r.reason = "last: " + last.String()
		}
	}
	r.held = d.now().Sub(start)

	if cfg.then != nil {
		r.hookKind = cfg.then.kind()
		until := start.Add(cfg.deadline)
		hookStart := d.now()
		if left := until.Sub(hookStart); left <= 0 {
			r.hookResult = fmt.Sprintf("skipped: no time left before the deadline (%s after start; %s passed)",
				fmtSeconds(cfg.deadline), fmtSeconds(hookStart.Sub(start)))
		} else {
			r.hookResult = d.hook(ctx, cfg.then, cfg, until)
			r.hookTook = d.now().Sub(hookStart)
			r.hookRan = true
		}
	}
	if cfg.streamsWait > 0 {
		streamsPhase(ctx, cfg, start, d, &r)
	}
	return r
}

// maxTokenFile bounds what is read of the token file: a ServiceAccount token is a few KiB.
const maxTokenFile = 64 << 10

// callToken is what proves the pod's identity to the gate: the projected ServiceAccount token,
// read at each attempt because the kubelet rotates it, else (a pod rendered before tokens were
// projected) the app token from the environment. An unreadable file sends no token: the gate
// then refuses (401) and the pod is held for the whole hold, never released early.
func callToken(cfg config) string {
	if cfg.tokenFile == "" {
		return cfg.token
	}
	f, err := os.Open(cfg.tokenFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil || len(b) > maxTokenFile {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// gateClient asks the gate over plain HTTP(S): no proxy from the environment (the gate is a
// Service in the cluster), a new connection for each attempt so that kube-proxy may pick
// another replica, and no redirects (the gate never sends one).
type gateClient struct{ client *http.Client }

func newGateClient() *gateClient {
	return &gateClient{client: &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{KeepAlive: -1}).DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// maxGateText bounds how much of the gate's answer is read; only ~200 characters are logged.
const maxGateText = 4096

// ask sends the app's token (if any) as a bearer token: the gate holds nothing for a call without it.
func (g *gateClient) ask(ctx context.Context, target, token string) gateAnswer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return gateAnswer{err: err, retryAfter: -1}
	}
	req.Header.Set("User-Agent", "zdt-drain/"+version)
	req.Header.Set("Accept", "text/plain")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	t0 := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return gateAnswer{err: describeErr(ctx, err, time.Since(t0)), retryAfter: -1}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxGateText))
	a := gateAnswer{
		status:     resp.StatusCode,
		text:       string(body),
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	if rerr != nil && resp.StatusCode != http.StatusOK {
		// The status decides; a body cut short only matters for the log.
		a.text += " (answer cut short: " + describeErr(ctx, rerr, time.Since(t0)).Error() + ")"
	}
	return a
}

// describeErr shortens net/http's errors: the URL is in the log line already.
func describeErr(ctx context.Context, err error, open time.Duration) error {
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("no answer before the hold ran out (call open %s)", fmtSeconds(open))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("connection closed without an answer after %s (%v)", fmtSeconds(open), err)
	}
	return err
}
