//go:build cgo

package ort

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that, when set, names the ONNX
// Runtime shared library to load, overriding the default locations.
const LibraryEnv = "ONNXRUNTIME_LIB"

// libraryName is the file name of the shared library that
// scripts/setup-onnxruntime.sh installs.
const libraryName = "libonnxruntime.so.1"

// modulePath identifies onnxquant's own go.mod when looking for the
// repository root.
const modulePath = "github.com/onnxquant/onnxquant"

// LibraryPath returns the absolute path of the ONNX Runtime shared library to
// load: $ONNXRUNTIME_LIB when set; otherwise .cache/onnxruntime/libonnxruntime.so.1
// under the onnxquant repository that holds the working directory; otherwise
// libonnxruntime.so.1 beside the running executable. It returns an error when
// the chosen file does not exist.
func LibraryPath() (string, error) {
	if p := os.Getenv(LibraryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("ort: %s=%q: %w", LibraryEnv, p, err)
		}
		if err := isFile(abs); err != nil {
			return "", fmt.Errorf("ort: %s names %s: %w", LibraryEnv, abs, err)
		}
		return abs, nil
	}
	var tried []string
	if root, err := repoRoot(); err == nil && root != "" {
		p := filepath.Join(root, ".cache", "onnxruntime", libraryName)
		if isFile(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		p := filepath.Join(filepath.Dir(exe), libraryName)
		if isFile(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("ort: ONNX Runtime library not found (looked at %s); "+
		"run scripts/setup-onnxruntime.sh in the onnxquant repository or set %s "+
		"to the path of libonnxruntime.so", strings.Join(tried, ", "), LibraryEnv)
}

// isFile reports, as an error, why p is not a regular file (nil when it is).
func isFile(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}

// repoRoot walks up from the working directory to the folder whose go.mod
// declares onnxquant's module, and returns it ("" when there is none).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if moduleOf(filepath.Join(dir, "go.mod")) == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// moduleOf returns the module path declared in the go.mod file at path, or ""
// when the file cannot be read or declares none.
func moduleOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		if i := strings.Index(rest, "//"); i >= 0 {
			rest = rest[:i]
		}
		return strings.Trim(strings.TrimSpace(rest), `"`+"`")
	}
	return ""
}

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the ONNX Runtime library found by LibraryPath and sets up the
// process-wide ONNX Runtime environment. It does the work once per process;
// later calls return the first call's result. Sessions call it themselves,
// so calling it is needed only to learn early whether ONNX Runtime works.
// The environment lives until the process exits.
func Init() error {
	initOnce.Do(func() {
		if ortgo.IsInitialized() {
			// Someone else in this process set up the binding already.
			return
		}
		p, err := LibraryPath()
		if err != nil {
			initErr = err
			return
		}
		ortgo.SetSharedLibraryPath(p)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("ort: initializing ONNX Runtime from %s: %w", p, err)
		}
	})
	return initErr
}

// Version returns the version of the loaded ONNX Runtime library, after
// initializing it as Init does.
func Version() (string, error) {
	if err := Init(); err != nil {
		return "", err
	}
	return ortgo.GetVersion(), nil
}
