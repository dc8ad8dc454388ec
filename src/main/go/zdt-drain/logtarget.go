package main

import (
	"bytes"
	"io"
	"os"
	"syscall"
	"time"
)

// openLog opens where the one log line, or the exec hook's output, goes. The kubelet does not
// show an exec hook's output in `kubectl logs`, so it is the container's stdout, reached through
// PID 1 (the container's main process), when that opens for writing and is not /dev/null (with a
// shared process namespace, PID 1 is the sandbox's pause). Else the helper's own stdout.
// ZDT_DRAIN_LOG overrides: "-" is the helper's own stdout, anything else a file to append to.
//
// O_NONBLOCK: the container's stdout is a FIFO read by the runtime's shim; opening a FIFO that
// has no reader would block for ever, this fails at once instead (and falls back). Each call
// opens its own file description, so the exec hook's copy (which os/exec turns blocking) does not
// change the one the line is written to.
func openLog(getenv func(string) string, stdout io.Writer) (io.Writer, func()) {
	path := getenv("ZDT_DRAIN_LOG")
	switch path {
	case "-":
		return stdout, func() {}
	case "":
		if target, err := os.Readlink("/proc/1/fd/1"); err == nil && target == os.DevNull {
			return stdout, func() {}
		}
		path = "/proc/1/fd/1"
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return stdout, func() {}
	}
	return f, func() { f.Close() }
}

// lineWriteTimeout bounds the line's write: a runtime that stopped reading the container's
// stdout must not keep the pod in its preStop hook after the hold is over.
const lineWriteTimeout = time.Second

// writeLine writes the line in one write (atomic on a pipe up to PIPE_BUF, 4096 bytes).
func writeLine(w io.Writer, line string) {
	var b bytes.Buffer
	b.WriteString(line)
	b.WriteByte('\n')
	if f, ok := w.(*os.File); ok {
		_ = f.SetWriteDeadline(time.Now().Add(lineWriteTimeout)) // not for regular files: no matter
	}
	_, _ = w.Write(b.Bytes())
}
