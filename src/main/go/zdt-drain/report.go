package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

const (
	outcomeReleased     = "Released"     // the gate answered 200
	outcomeHoldExpired  = "HoldExpired"  // the hold passed on the helper's clock without a 200
	outcomeBadArguments = "BadArguments" // the arguments could not be used; the hold (if any) was slept
)

// report is what one `zdt-drain prestop` did; line() is the one log line.
type report struct {
	cfg        config
	outcome    string
	held       time.Duration // from the helper's start to the end of the hold part
	attempts   int
	gateText   string // the gate's 200 text
	reason     string // why HoldExpired / BadArguments: the last error or status
	hookKind   string // exec, httpGet, sleep; "" when there is no --then
	hookRan    bool
	hookResult string
	hookTook   time.Duration

	streamsRan    bool          // the stream phase was due (--streams-wait above 0)
	streamsSignal string        // what the signal did; "" without --streams-signal
	streamsResult string        // what the watch saw, e.g. "12 (8081:12) on 8080,8081 at the signal, 0 after 1.40s"
	streamsTook   time.Duration // the whole stream phase, signal included: the line is written this long after the hook
}

// maxText bounds each free text in the line (the gate's text, errors, hook results).
const maxText = 200

func (r report) line() string {
	var b strings.Builder
	b.WriteString("zdt-drain:")
	if r.cfg.namespace != "" || r.cfg.pod != "" {
		fmt.Fprintf(&b, " pod=%s/%s", orUnknown(clean(r.cfg.namespace, 63)), orUnknown(clean(r.cfg.pod, 253)))
	}
	if r.cfg.app != "" {
		fmt.Fprintf(&b, " app=%s", clean(r.cfg.app, 63))
	}
	fmt.Fprintf(&b, " outcome=%s held=%s", r.outcome, fmtSeconds(r.held))
	if r.outcome != outcomeBadArguments {
		fmt.Fprintf(&b, " attempts=%d", r.attempts)
	}
	switch r.outcome {
	case outcomeReleased:
		fmt.Fprintf(&b, " gate=%s", quote(r.gateText))
	case outcomeBadArguments:
		fmt.Fprintf(&b, " error=%s", quote(r.reason))
	default:
		fmt.Fprintf(&b, " reason=%s", quote(r.reason))
	}
	if r.hookKind != "" {
		fmt.Fprintf(&b, " hook=%s hook_result=%s", r.hookKind, quote(r.hookResult))
		if r.hookRan {
			fmt.Fprintf(&b, " hook_took=%s", fmtSeconds(r.hookTook))
		}
	}
	if r.streamsRan {
		if r.streamsSignal != "" {
			fmt.Fprintf(&b, " streams_signal=%s", quote(r.streamsSignal))
		}
		fmt.Fprintf(&b, " streams=%s streams_took=%s", quote(r.streamsResult), fmtSeconds(r.streamsTook))
	}
	return b.String()
}

// clean makes s printable on one line: whitespace runs become one space, other control or
// non-printable characters become '?', and it is cut to max runes with "...".
func clean(s string, max int) string {
	rs := []rune(strings.Join(strings.Fields(s), " ")) // invalid UTF-8 becomes U+FFFD
	cut := len(rs) > max
	if cut {
		rs = rs[:max]
	}
	for i, c := range rs {
		if c == unicode.ReplacementChar || !unicode.IsPrint(c) {
			rs[i] = '?'
		}
	}
	if cut {
		return string(rs) + "..."
	}
	return string(rs)
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// quote is clean text in double quotes; inner double quotes become single ones.
func quote(s string) string {
	return `"` + strings.ReplaceAll(clean(s, maxText), `"`, `'`) + `"`
}

// fmtSeconds prints a duration as seconds with two decimals, e.g. 3.21s.
func fmtSeconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}
