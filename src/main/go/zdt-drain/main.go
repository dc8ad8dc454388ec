// Command zdt-drain is the preStop helper of zdt-operator: a static binary that an init
// container copies into an emptyDir (`zdt-drain install <dir>`) and that the serving
// container's preStop hook runs (`zdt-drain prestop ...`). It holds the pod until the
// operator's drain gate answers 200, or until the hold has passed on its own clock, then runs
// the template's own preStop hook, then (with --streams-wait) tells the app to end its streams
// and waits until none is left or the wind-down has passed, and always exits 0. It needs no shell and no libc, so it
// works in distroless and scratch images and under the restricted Pod Security profile.
// See README.md for the contract.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// version is set at build time: -ldflags "-X main.version=<tag>".
var version = "dev"

func main() {
	start := time.Now() // the hold is measured from here, before anything else can take time
	os.Exit(realMain(start, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage:
  zdt-drain install <dir>
  zdt-drain prestop --gate <url> --namespace <ns> --app <app> --hold <seconds> --deadline <seconds> [--pod <name>] [--then <json>]
                   [--token-file <path>] [--streams-wait <seconds> [--streams-signal <json>] [--streams-ports <p,p>]]
  zdt-drain version
`

// realMain dispatches the subcommands and returns the exit code. prestop always returns 0.
func realMain(start time.Time, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "install":
		if len(args) != 2 || args[1] == "" {
			fmt.Fprint(stderr, "zdt-drain: install needs exactly one argument, the directory\n"+usage)
			return 2
		}
		line, err := install(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "zdt-drain: install failed: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, line)
		return 0
	case "prestop":
		hookOut, closeHookOut := openLog(getenv, stdout)
		defer closeHookOut()
		line := prestopMain(context.Background(), start, args[1:], getenv, realDeps(hookOut))
		logOut, closeLog := openLog(getenv, stdout) // opened last: an exec hook's fd may have gone blocking
		defer closeLog()
		writeLine(logOut, line)
		return 0
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "zdt-drain: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

// prestopMain parses the arguments and runs the hold and the user's hook; it returns the one
// log line. Bad arguments are logged, and the hold is slept if one could be read (fail safe).
func prestopMain(ctx context.Context, start time.Time, args []string, getenv func(string) string, d deps) string {
	cfg, err := parsePrestop(args, getenv)
	if err != nil {
		r := report{outcome: outcomeBadArguments, cfg: cfg, reason: err.Error()}
		if hold, ok := findHold(args); ok {
			sleepUntil(ctx, d, start.Add(hold))
			r.reason += fmt.Sprintf("; slept the hold (%s) without asking the gate", fmtSeconds(hold))
		} else {
			r.reason += "; no hold could be read, so none was slept"
		}
		r.held = d.now().Sub(start)
		return r.line()
	}
	return prestop(ctx, cfg, start, d).line()
}
