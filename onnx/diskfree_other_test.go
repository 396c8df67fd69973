//go:build !(linux || darwin || freebsd)

package onnx

import (
	"errors"
	"runtime"
)

// freeBytes cannot tell the free space on this system.
func freeBytes(dir string) (uint64, error) {
	return 0, errors.New("free space unknown on " + runtime.GOOS)
}
