package opset

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
)

// checkerScript runs ONNX's checker with full_check (strict shape
// inference) on each file given and prints "ok" or the error per file.
const checkerScript = `
import sys, onnx
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        print(path + "\tok")
    except Exception as e:
        print(path + "\t" + str(e).replace("\n", " ")[:300])
`

// runChecker returns the checker's verdict per file.
func runChecker(t *testing.T, py string, paths []string) map[string]string {
	t.Helper()
	out, err := exec.Command(py, append([]string{"-c", checkerScript}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("checker: %v\n%s", err, out)
	}
	res := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if p, verdict, ok := strings.Cut(line, "\t"); ok {
			res[p] = verdict
		}
	}
	return res
}

// TestCheckerAcceptsUpgrades runs ONNX's own checker (Python onnx, whose
// newest opset is 17) over every shared and light model upgraded to 13 and
// to 17: every model the checker accepts before must be accepted after.
func TestCheckerAcceptsUpgrades(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python's ONNX checker")
	}
	py := testenv.PythonONNX(t)
	paths := testenv.Models(t)
	light, _ := filepath.Glob(filepath.Join(testenv.DataDir(t), "onnx-backend", "light", "*.onnx"))
	paths = append(paths, light...)
	dir := t.TempDir()
	before := runChecker(t, py, paths)
	var upgraded []string
	origin := map[string]string{}
	for _, p := range paths {
		if before[p] != "ok" {
			t.Logf("%s: rejected by the checker before any change (%s); not checked after", filepath.Base(p), before[p])
			continue
		}
		orig, err := onnx.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []int64{13, 17} {
			if opsetOf(orig) >= target {
				continue
			}
			m := proto.Clone(orig).(*onnx.ModelProto)
			if _, err := Upgrade(m, target); err != nil {
				t.Errorf("%s: Upgrade to %d: %v", filepath.Base(p), target, err)
				continue
			}
			out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(p), ".onnx")+"-"+string(rune('0'+target/10))+string(rune('0'+target%10))+".onnx")
			if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			upgraded = append(upgraded, out)
			origin[out] = filepath.Base(p)
		}
	}
	if len(upgraded) == 0 {
		t.Fatal("no model to check")
	}
	after := runChecker(t, py, upgraded)
	for _, p := range upgraded {
		if after[p] != "ok" {
			t.Errorf("%s: checker rejects the upgrade %s: %s", origin[p], filepath.Base(p), after[p])
		}
	}
	t.Logf("checker accepted %d upgraded models", len(upgraded))
}

// opsetOf returns the model's ai.onnx version (0 when absent).
func opsetOf(m *onnx.ModelProto) int64 {
	for _, imp := range m.GetOpsetImport() {
		if d := imp.GetDomain(); d == "" || d == "ai.onnx" {
			return imp.GetVersion()
		}
	}
	return 0
}
