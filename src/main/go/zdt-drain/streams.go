package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The stream phase comes after the hold and the template's own hook: no new connection reaches
// the pod any more, so the app is told to end its long-lived connections (the signal) and the
// helper waits until none is left on the watched ports, or the wind-down has passed, before it
// lets SIGTERM through. It never lasts past --deadline.

// maxStreamPorts bounds --streams-ports: a container has a few ports, not hundreds.
const maxStreamPorts = 64

// parsePorts reads "8080,8081": distinct port numbers 1-65535.
func parsePorts(s string) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("--streams-ports %q: %q is not a port number 1-65535", s, f)
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	if len(ports) > maxStreamPorts {
		return nil, fmt.Errorf("--streams-ports names %d ports, at most %d", len(ports), maxStreamPorts)
	}
	sort.Ints(ports)
	return ports, nil
}

// The pod's network namespace as the kernel shows it to any process in it: no capability needed.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// tcpEstablished is the kernel's state number for ESTABLISHED in /proc/net/tcp (include/net/tcp_states.h).
const tcpEstablished = "01"

// maxProcLine bounds one line of /proc/net/tcp (about 150 bytes in practice).
const maxProcLine = 4096

// countEstablished adds to counts, per watched local port, the ESTABLISHED connections listed in
// one /proc/net/tcp or tcp6 text. A socket listening on a port, a connection in another state
// (TIME_WAIT, CLOSE_WAIT: the peer has gone) and a connection whose remote port is the watched
// one (the pod as a client) do not count.
func countEstablished(r io.Reader, watched map[int]bool, counts map[int]int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 512), maxProcLine)
	first := true
	for sc.Scan() {
		if first { // the header: "sl local_address rem_address st ..."
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		if f[3] != tcpEstablished {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil {
			continue
		}
		if watched[int(port)] {
			counts[int(port)]++
		}
	}
	return sc.Err()
}

// readConnections counts the ESTABLISHED connections on the watched local ports, IPv4 and IPv6.
// A missing tcp6 (IPv6 off) is no error; neither file readable is one.
func readConnections(files []string, ports []int) (map[int]int, error) {
	watched := map[int]bool{}
	for _, p := range ports {
		watched[p] = true
	}
	counts := map[int]int{}
	read := 0
	var errs []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err.Error())
			}
			continue
		}
		err = countEstablished(f, watched, counts)
		f.Close()
		if err != nil {
			errs = append(errs, name+": "+err.Error())
			continue
		}
		read++
	}
	if len(errs) > 0 || read == 0 {
		if len(errs) == 0 {
			errs = append(errs, "none of "+strings.Join(files, ", ")+" exists")
		}
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return counts, nil
}

// describeCounts is e.g. "12 (8081:12)" or "0".
func describeCounts(counts map[int]int, ports []int) string {
	total := 0
	var parts []string
	for _, p := range ports {
		if n := counts[p]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d:%d", p, n))
		}
	}
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " "))
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// Between two looks at the connections: 200 ms, longer when reading the tables itself took long
// (tens of thousands of connections), so the watch never takes more than a third of a CPU.
const (
	streamsPoll    = 200 * time.Millisecond
	streamsPollMax = 2 * time.Second
)

func pollPause(readTook time.Duration) time.Duration {
	p := 2 * readTook
	if p < streamsPoll {
		p = streamsPoll
	}
	if p > streamsPollMax {
		p = streamsPollMax
	}
	return p
}

// streamsPhase runs the signal and the wait; it fills the report's stream fields. phaseStart is
// when the hold and the user's hook were over; the phase ends by the wind-down after it, and by
// the deadline whatever comes first.
func streamsPhase(ctx context.Context, cfg config, start time.Time, d deps, r *report) {
	now := d.now()
	defer func() { r.streamsTook = d.now().Sub(now) }()
	end := now.Add(cfg.streamsWait)
	if dl := start.Add(cfg.deadline); dl.Before(end) {
		end = dl
	}
	r.streamsRan = true
	if !end.After(now) {
		r.streamsResult = fmt.Sprintf("skipped: no time left before the deadline (%s after start; %s passed)",
			fmtSeconds(cfg.deadline), fmtSeconds(now.Sub(start)))
		return
	}
	watching := len(cfg.streamsPorts) > 0
	var before map[int]int
	var beforeErr error
	if watching {
		before, beforeErr = d.conns(cfg.streamsPorts)
	}
	if cfg.streamsSignal != nil {
		r.streamsSignal = d.hook(ctx, cfg.streamsSignal, cfg, end)
	}
	if !watching {
		r.streamsResult = "not watched (no --streams-ports)"
		return
	}
	at := "at the signal"
	switch {
	case cfg.streamsSignal != nil:
	case cfg.then != nil:
		at = "after the hook"
	default:
		at = "after the hold"
	}
	var first string
	if beforeErr != nil {
		first = "unreadable " + at + " (" + beforeErr.Error() + ")"
	} else {
		first = describeCounts(before, cfg.streamsPorts) + " on " + joinPorts(cfg.streamsPorts) + " " + at
	}
	phaseStart := now
	var last map[int]int
	var lastErr error
	for {
		t0 := d.now()
		last, lastErr = d.conns(cfg.streamsPorts)
		took := d.now().Sub(t0)
		if lastErr == nil && describeCounts(last, cfg.streamsPorts) == "0" {
			r.streamsResult = fmt.Sprintf("%s, 0 after %s", first, fmtSeconds(d.now().Sub(phaseStart)))
			return
		}
		left := end.Sub(d.now())
		if left <= 0 || ctx.Err() != nil {
			break
		}
		p := pollPause(took)
		if p > left {
			p = left
		}
		d.sleep(ctx, p)
	}
	bound := "the wind-down"
	if end.Equal(start.Add(cfg.deadline)) {
		bound = "the deadline"
	}
	if lastErr != nil {
		// Fail safe: what cannot be seen is waited for, to the end of the wind-down.
		r.streamsResult = fmt.Sprintf("%s, waited %s to %s: connections unreadable (%s)",
			first, fmtSeconds(d.now().Sub(phaseStart)), bound, lastErr.Error())
		return
	}
	r.streamsResult = fmt.Sprintf("%s, %s left at %s (%s)", first, describeCounts(last, cfg.streamsPorts),
		bound, fmtSeconds(d.now().Sub(phaseStart)))
}
