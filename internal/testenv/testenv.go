// Package testenv locates the shared test data and external tools for
// onnxquant's tests, and decides what a missing one means: under CI=true it
// fails the test, elsewhere it skips it with the reason.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding onnxquant's go.mod, found by walking
// up from the working directory, or "" when there is none.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// InCI reports whether the tests run under CI (CI=true), where nothing may be
// skipped for want of data or tools.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable fails the test under CI and skips it elsewhere, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required for CI: "+format, args...)
	}
	t.Skipf("skipped: "+format, args...)
}

// DataDir returns the shared test data folder: $ONNXQUANT_TESTDATA, or
// ../shared/testdata beside the repository. A missing folder makes the test
// fail under CI and skip elsewhere.
func DataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ONNXQUANT_TESTDATA")
	if dir == "" {
		root := RepoRoot()
		if root == "" {
			Unavailable(t, "cannot find the repository root from the working directory")
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		Unavailable(t, "shared test data not found at %s (set ONNXQUANT_TESTDATA)", dir)
	}
	return dir
}

// DataFile returns the path of a file under the shared test data folder,
// failing (CI) or skipping the test when it is missing.
func DataFile(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{DataDir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "test data file missing: %s", p)
	}
	return p
}

// Models returns the paths of the real models in the shared models folder.
func Models(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(DataDir(t), "models", "*.onnx"))
	if err != nil || len(paths) == 0 {
		Unavailable(t, "no models in %s", filepath.Join(DataDir(t), "models"))
	}
	return paths
}

// PythonONNX returns the path of a Python interpreter that can import onnx
// (Debian's python3-onnx under /usr/bin/python3), used as a second opinion
// on models: ONNX's checker and its own readings. Missing, it fails the test
// under CI and skips it elsewhere.
func PythonONNX(t testing.TB) string {
	t.Helper()
	py := os.Getenv("ONNXQUANT_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		Unavailable(t, "%s cannot import onnx (apt-get install python3-onnx): %v", py, err)
	}
	return py
}
