package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// handler is the part of a Kubernetes LifecycleHandler that a preStop hook may use. The
// operator passes the template's own hook as JSON, with named ports already resolved.
type handler struct {
	Exec *struct {
		Command []string `json:"command"`
	} `json:"exec,omitempty"`
	HTTPGet *httpGetAction `json:"httpGet,omitempty"`
	Sleep   *struct {
		Seconds int64 `json:"seconds"`
	} `json:"sleep,omitempty"`
	TCPSocket json.RawMessage `json:"tcpSocket,omitempty"`
}

type httpGetAction struct {
	Path        string          `json:"path"`
	Port        json.RawMessage `json:"port"`
	Host        string          `json:"host"`
	Scheme      string          `json:"scheme"`
	HTTPHeaders []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"httpHeaders"`
	port int
}

func (h *handler) kind() string {
	switch {
	case h.Exec != nil:
		return "exec"
	case h.HTTPGet != nil:
		return "httpGet"
	case h.Sleep != nil:
		return "sleep"
	}
	return "none"
}

func parseHandler(s string) (*handler, error) {
	var h handler
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("not a LifecycleHandler in JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("extra data after the JSON object")
	}
	n := 0
	for _, set := range []bool{h.Exec != nil, h.HTTPGet != nil, h.Sleep != nil, len(h.TCPSocket) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("needs exactly one of exec, httpGet, sleep")
	}
	switch {
	case len(h.TCPSocket) > 0:
		return nil, errors.New("tcpSocket is not a lifecycle hook (the kubelet does not run it either)")
	case h.Exec != nil:
		if len(h.Exec.Command) == 0 || h.Exec.Command[0] == "" {
			return nil, errors.New("exec.command is empty")
		}
	case h.HTTPGet != nil:
		g := h.HTTPGet
		p, err := parsePort(g.Port)
		if err != nil {
			return nil, err
		}
		g.port = p
		switch strings.ToUpper(g.Scheme) {
		case "", "HTTP", "HTTPS":
		default:
			return nil, fmt.Errorf("httpGet.scheme %q is neither HTTP nor HTTPS", g.Scheme)
		}
	case h.Sleep != nil:
		if h.Sleep.Seconds < 0 {
			return nil, fmt.Errorf("sleep.seconds %d is negative", h.Sleep.Seconds)
		}
	}
	return &h, nil
}

// parsePort accepts a number, or a string of digits; a port name must have been resolved.
func parsePort(raw json.RawMessage) (int, error) {
	if len(raw) == 0 {
		return 0, errors.New("httpGet.port is missing")
	}
	s := string(raw)
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = str
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("httpGet.port %s is not a port number (named ports must be resolved by the operator)", raw)
	}
	return p, nil
}

// runHook runs the user's hook until `until` at the latest and describes the outcome.
func runHook(ctx context.Context, h *handler, cfg config, until time.Time, out io.Writer) string {
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	switch {
	case h.Exec != nil:
		return runExec(ctx, h.Exec.Command, out)
	case h.HTTPGet != nil:
		return runHTTPGet(ctx, h.HTTPGet, cfg.podIP)
	case h.Sleep != nil:
		return runSleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
	}
	return "nothing to run"
}

// runExec runs the command directly (no shell), with the helper's environment, its output to
// the log target, in its own process group so that a kill at the deadline takes its children.
func runExec(ctx context.Context, argv []string, out io.Writer) string {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a grandchild holding a copied pipe open cannot keep us here
	err := cmd.Run()
	if cmd.ProcessState == nil {
		return "could not start: " + err.Error()
	}
	var res string
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL && ctx.Err() == context.DeadlineExceeded:
		res = "killed at the deadline"
	case ws.Signaled():
		res = "killed by " + ws.Signal().String()
	default:
		res = fmt.Sprintf("exit %d", cmd.ProcessState.ExitCode())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && ctx.Err() == nil {
		res += " (" + err.Error() + ")"
	}
	return res
}

// maxHookBody is what the kubelet reads of a hook's answer before it drops the connection.
const maxHookBody = 10 << 10

// runHTTPGet calls the hook as the kubelet does: certificates are not verified, the status is
// reported but does not make the hook fail, and only redirects to the same host are followed.
func runHTTPGet(ctx context.Context, g *httpGetAction, podIP string) string {
	host := g.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		host = "127.0.0.1" // the pod's own network namespace
	}
	scheme := strings.ToLower(g.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(g.port)) + path)
	if err != nil {
		return "bad URL: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "bad request: " + err.Error()
	}
	req.Header.Set("User-Agent", "kube-lifecycle/zdt-drain-"+version)
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
		} else {
			req.Header.Add(h.Name, h.Value)
		}
	}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet does
			DisableKeepAlives: true,
		},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 10 || r.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "GET " + u.String() + ": no answer before the deadline"
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "GET " + u.String() + ": " + err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHookBody))
	resp.Body.Close()
	return fmt.Sprintf("GET %s: HTTP %d", u.String(), resp.StatusCode)
}

func runSleep(ctx context.Context, d time.Duration) string {
	t0 := time.Now()
	realSleep(ctx, d)
	if took := time.Since(t0); took < d {
		return fmt.Sprintf("slept %s of %s: cut at the deadline", fmtSeconds(took), fmtSeconds(d))
	}
	return "slept " + fmtSeconds(d)
}
