package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// install copies the running executable to <dir>/zdt-drain: a temporary file in <dir>, mode
// 0555, then a rename, so a reader never sees a half-written helper. Only <dir> needs to be
// writable (the init container may run as any uid with a read-only root filesystem).
func install(dir string) (string, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		exe, eerr := os.Executable()
		if eerr != nil {
			return "", fmt.Errorf("cannot find my own executable: %v; %v", err, eerr)
		}
		if src, err = os.Open(exe); err != nil {
			return "", err
		}
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".zdt-drain-*")
	if err != nil {
		return "", err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, src)
	if err != nil {
		return "", fmt.Errorf("copying to %s: %v", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "zdt-drain")
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		done = true
		return "", err
	}
	done = true
	return fmt.Sprintf("zdt-drain: installed %s (%d bytes, version %s)", dst, n, version), nil
}
