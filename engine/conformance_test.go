package engine_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

var updateConformance = flag.Bool("update-conformance", false, "rewrite testdata/conformance_passing.txt with the cases that pass now")

// conformanceSuites are the folders of ONNX's backend test suite whose cases
// carry model.onnx and test_data_set_* folders.
var conformanceSuites = []string{"node", "simple", "pytorch-converted", "pytorch-operator"}

// looseCases need a wider tolerance than the suite's default, with the reason.
var looseCases = map[string]float64{}

// TestConformance runs every case of ONNX's conformance suite whose operators
// the engine claims, against the suite's expected outputs. No claimed case may
// fail, and every case listed in testdata/conformance_passing.txt must still
// be claimed and pass, so coverage cannot shrink unnoticed. Run one case with
// -run 'TestConformance/node/test_add$'.
func TestConformance(t *testing.T) {
	root := filepath.Join(testenv.DataDir(t), "onnx-backend")
	var cases []string
	for _, suite := range conformanceSuites {
		dirs, err := filepath.Glob(filepath.Join(root, suite, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "model.onnx")); err == nil {
				rel, _ := filepath.Rel(root, d)
				cases = append(cases, filepath.ToSlash(rel))
			}
		}
	}
	sort.Strings(cases)
	if len(cases) == 0 {
		testenv.Unavailable(t, "no conformance cases under %s", root)
	}
	expected := readPassingList(t)
	var passed, failed, unsupported, badData []string
	reasons := map[string]int{}
	for _, c := range cases {
		c := c
		var outcome string
		t.Run(c, func(t *testing.T) {
			var why string
			outcome, why = runConformanceCase(t, filepath.Join(root, c), reasons)
			if outcome == "unsupported" || outcome == "data" {
				t.Skip(why)
			}
		})
		switch outcome {
		case "pass":
			passed = append(passed, c)
		case "fail":
			failed = append(failed, c)
		case "unsupported":
			unsupported = append(unsupported, c)
		case "data":
			badData = append(badData, c)
		}
	}
	t.Logf("conformance: %d cases: %d passed, %d failed, %d unsupported, %d with test data the engine cannot represent",
		len(cases), len(passed), len(failed), len(unsupported), len(badData))
	printTopReasons(t, reasons)
	passing := map[string]bool{}
	for _, c := range passed {
		passing[c] = true
	}
	var lost []string
	for _, c := range expected {
		if !passing[c] {
			lost = append(lost, c)
		}
	}
	if len(lost) > 0 && !*updateConformance {
		t.Errorf("%d case(s) listed in testdata/conformance_passing.txt no longer pass: %v", len(lost), lost)
	}
	if *updateConformance {
		writePassingList(t, passed)
	} else if len(passed) > len(expected) {
		t.Logf("%d case(s) pass but are not listed yet; run with -update-conformance", len(passed)-len(expected))
	}
}

func printTopReasons(t *testing.T, reasons map[string]int) {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range reasons {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var b strings.Builder
	for i, e := range all {
		if i == 25 {
			break
		}
		fmt.Fprintf(&b, "\n  %4d %s", e.v, e.k)
	}
	t.Logf("most common unsupported operators:%s", b.String())
}

// runConformanceCase returns "pass", "fail", "unsupported" or "data", and
// for the last two the reason.
func runConformanceCase(t *testing.T, dir string, reasons map[string]int) (string, string) {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Errorf("loading: %v", err)
		return "fail", ""
	}
	sess, err := engine.New(m, engine.Options{Threads: 2})
	if err != nil {
		var ue *engine.UnsupportedError
		if errors.As(err, &ue) {
			for _, n := range ue.Nodes {
				reasons[n.OpType]++
			}
			return "unsupported", fmt.Sprintf("unsupported: %v", err)
		}
		if errors.Is(err, kernel.ErrUnsupported) {
			reasons["(model feature)"]++
			return "unsupported", fmt.Sprintf("unsupported: %v", err)
		}
		t.Errorf("preparing: %v", err)
		return "fail", ""
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return "data", "no test data sets"
	}
	tol := 1e-3
	if v, ok := looseCases[filepath.Base(dir)]; ok {
		tol = v
	}
	inputs := sess.Inputs()
	graphInputs := m.GetGraph().GetInput()
	for _, set := range sets {
		feeds := map[string]*tensor.Tensor{}
		files, _ := filepath.Glob(filepath.Join(set, "input_*.pb"))
		sortByIndex(files)
		for i, f := range files {
			tt, name, err := tensor.ReadProtoFile(f)
			if err != nil {
				return "data", fmt.Sprintf("test data: %v", err)
			}
			if name == "" || !hasInput(inputs, name) {
				if i < len(graphInputs) {
					name = graphInputs[i].GetName()
				}
			}
			feeds[name] = tt
		}
		got, err := sess.Run(context.Background(), feeds)
		if err != nil {
			t.Errorf("%s: run: %v", filepath.Base(set), err)
			return "fail", ""
		}
		outFiles, _ := filepath.Glob(filepath.Join(set, "output_*.pb"))
		sortByIndex(outFiles)
		outs := sess.Outputs()
		for i, f := range outFiles {
			want, name, err := tensor.ReadProtoFile(f)
			if err != nil {
				return "data", fmt.Sprintf("test data: %v", err)
			}
			if i < len(outs) {
				name = outs[i].Name
			}
			g, ok := got[name]
			if !ok {
				t.Errorf("%s: output %q missing", filepath.Base(set), name)
				return "fail", ""
			}
			if msg := compareTensors(g, want, tol, 1e-7); msg != "" {
				t.Errorf("%s: output %q: %s", filepath.Base(set), name, msg)
				return "fail", ""
			}
		}
	}
	return "pass", ""
}

func hasInput(vs []engine.ValueInfo, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func sortByIndex(files []string) {
	idx := func(f string) int {
		var n int
		base := filepath.Base(f)
		base = base[strings.IndexByte(base, '_')+1:]
		fmt.Sscanf(base, "%d", &n)
		return n
	}
	sort.Slice(files, func(i, j int) bool { return idx(files[i]) < idx(files[j]) })
}

// compareTensors returns "" when got matches want: same type and shape,
// floats within rtol/atol (NaN matching NaN), everything else exactly.
func compareTensors(got, want *tensor.Tensor, rtol, atol float64) string {
	if got.DType != want.DType {
		return fmt.Sprintf("type %v, want %v", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.DType.IsFloat() {
		g, err1 := floats64(got)
		w, err2 := floats64(want)
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("cannot compare: %v %v", err1, err2)
		}
		bad, worst, at := 0, 0.0, -1
		for i := range w {
			if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
				continue
			}
			if math.IsInf(w[i], 0) && g[i] == w[i] {
				continue
			}
			d := math.Abs(g[i] - w[i])
			if !(d <= atol+rtol*math.Abs(w[i])) {
				bad++
				if d > worst || at < 0 {
					worst, at = d, i
				}
			}
		}
		if bad > 0 {
			return fmt.Sprintf("%d of %d values off; worst at %d: got %g, want %g", bad, len(w), at, g[at], w[at])
		}
		return ""
	}
	if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
		gs, ws := fmt.Sprint(got.Data), fmt.Sprint(want.Data)
		if len(gs) > 200 {
			gs = gs[:200] + "..."
		}
		if len(ws) > 200 {
			ws = ws[:200] + "..."
		}
		return fmt.Sprintf("got %s, want %s", gs, ws)
	}
	return ""
}

const passingList = "testdata/conformance_passing.txt"

func readPassingList(t *testing.T) []string {
	f, err := os.Open(passingList)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func writePassingList(t *testing.T, cases []string) {
	var b strings.Builder
	b.WriteString("# Conformance cases the engine passes; TestConformance fails if one stops passing.\n")
	b.WriteString("# Regenerate with: go test ./engine -run TestConformance -update-conformance\n")
	for _, c := range cases {
		b.WriteString(c + "\n")
	}
	if err := os.WriteFile(passingList, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func floats64(t *tensor.Tensor) ([]float64, error) {
	out := make([]float64, t.Len())
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []tensor.F16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	case []tensor.BF16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	default:
		return nil, fmt.Errorf("not a float tensor: %v", t.DType)
	}
	return out, nil
}
