package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is what `zdt-drain prestop` was asked to do.
type config struct {
	gate      string // base URL of the gate, e.g. http://10.96.0.20:80
	namespace string
	app       string
	pod       string
	hold      time.Duration // the longest the helper holds the pod, from its own start
	deadline  time.Duration // the user's hook must end by then, from the helper's start
	then      *handler      // the template's own preStop hook, or nil
	podIP     string        // ZDT_POD_IP: where an httpGet hook with an empty host goes (else 127.0.0.1)
	token     string        // ZDT_GATE_TOKEN: a pre-upgrade pod's app token, from the environment, never an argument
	tokenFile string        // --token-file: the pod's projected ServiceAccount token, read at each attempt

	streamsSignal *handler      // --streams-signal: tells the app to end its streams, after the hold and --then
	streamsWait   time.Duration // --streams-wait: the wind-down; 0 is no stream phase
	streamsPorts  []int         // --streams-ports: wait until no ESTABLISHED connection has one of these local ports
}

// maxSeconds bounds --hold and --deadline: a Pod's grace period is far shorter than a day.
const maxSeconds = 86400

// parseSeconds reads a non-negative, finite number of seconds; fractions are allowed (tests).
func parseSeconds(name, s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxSeconds {
		return 0, fmt.Errorf("--%s %q is not a number of seconds between 0 and %d", name, s, maxSeconds)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parsePrestop reads the prestop arguments. On an error it still returns what it could read,
// for the log line.
func parsePrestop(args []string, getenv func(string) string) (config, error) {
	var cfg config
	var hold, deadline, then, streamsSignal, streamsWait, streamsPorts string
	fs := flag.NewFlagSet("prestop", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.gate, "gate", "", "")
	fs.StringVar(&cfg.namespace, "namespace", "", "")
	fs.StringVar(&cfg.app, "app", "", "")
	fs.StringVar(&cfg.pod, "pod", "", "")
	fs.StringVar(&hold, "hold", "", "")
	fs.StringVar(&deadline, "deadline", "", "")
	fs.StringVar(&then, "then", "", "")
	fs.StringVar(&cfg.tokenFile, "token-file", "", "")
	fs.StringVar(&streamsSignal, "streams-signal", "", "")
	fs.StringVar(&streamsWait, "streams-wait", "", "")
	fs.StringVar(&streamsPorts, "streams-ports", "", "")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var problems []string
	missing := func(name, v string) {
		if v == "" {
			problems = append(problems, "--"+name+" is missing")
		}
	}
	missing("gate", cfg.gate)
	missing("namespace", cfg.namespace)
	missing("app", cfg.app)
	missing("hold", hold)
	missing("deadline", deadline)
	if cfg.gate != "" {
		if err := checkGateURL(cfg.gate); err != nil {
			problems = append(problems, err.Error())
		}
	}
	var err error
	if hold != "" {
		if cfg.hold, err = parseSeconds("hold", hold); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if deadline != "" {
		if cfg.deadline, err = parseSeconds("deadline", deadline); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if then != "" {
		if cfg.then, err = parseHandler(then); err != nil {
			problems = append(problems, "--then: "+err.Error())
		}
	}
	if streamsWait != "" {
		if cfg.streamsWait, err = parseSeconds("streams-wait", streamsWait); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if streamsSignal != "" {
		if cfg.streamsSignal, err = parseHandler(streamsSignal); err != nil {
			problems = append(problems, "--streams-signal: "+err.Error())
		}
	}
	if streamsPorts != "" {
		if cfg.streamsPorts, err = parsePorts(streamsPorts); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if (streamsSignal != "" || streamsPorts != "") && cfg.streamsWait <= 0 {
		problems = append(problems, "--streams-signal and --streams-ports need a --streams-wait above 0")
	}
	if cfg.pod == "" {
		cfg.pod = getenv("ZDT_POD_NAME")
	}
	if cfg.pod == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			problems = append(problems, fmt.Sprintf("no pod name: no --pod, no ZDT_POD_NAME, and no hostname (%v)", err))
		}
		cfg.pod = h
	}
	cfg.podIP = getenv("ZDT_POD_IP")
	cfg.token = getenv("ZDT_GATE_TOKEN")
	if len(problems) > 0 {
		return cfg, errors.New(strings.Join(problems, "; "))
	}
	return cfg, nil
}

func checkGateURL(gate string) error {
	u, err := url.Parse(gate)
	if err != nil {
		return fmt.Errorf("--gate %q must look like http://host:port (%v)", gate, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--gate %q must look like http://host:port", gate)
	}
	return nil
}

// gateURL is GET <gate>/gate/v1/<ns>/<app>/<pod>; a path on the gate URL is kept as a prefix.
func gateURL(cfg config) string {
	return strings.TrimRight(cfg.gate, "/") + "/gate/v1/" + url.PathEscape(cfg.namespace) + "/" +
		url.PathEscape(cfg.app) + "/" + url.PathEscape(cfg.pod)
}

// findHold looks for a usable --hold among arguments that failed to parse as a whole, so a
// mistake elsewhere still holds the pod (fail safe).
func findHold(args []string) (time.Duration, bool) {
	for i, a := range args {
		var v string
		switch {
		case a == "--hold" || a == "-hold":
			if i+1 >= len(args) {
				return 0, false
			}
			v = args[i+1]
		case strings.HasPrefix(a, "--hold="):
			v = strings.TrimPrefix(a, "--hold=")
		case strings.HasPrefix(a, "-hold="):
			v = strings.TrimPrefix(a, "-hold=")
		default:
			continue
		}
		d, err := parseSeconds("hold", v)
		return d, err == nil
	}
	return 0, false
}
