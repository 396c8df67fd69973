package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/modelinfo"
)

// pythonSummary asks ONNX's own Python package for the figures inspect
// prints, as an independent reading of the same files.
const pythonSummary = `
import collections, json, sys
import onnx
from onnx import numpy_helper
out = {}
for path in sys.argv[1:]:
    m = onnx.load(path)
    g = m.graph
    inits = {t.name for t in g.initializer}
    ops = collections.Counter()
    def walk(graph):
        for n in graph.node:
            ops[n.op_type] += 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(g)
    params = sum(numpy_helper.to_array(t).size for t in g.initializer)
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    params += numpy_helper.to_array(a.t).size
    out[path] = {
        "ir_version": m.ir_version,
        "nodes": len(g.node),
        "ops": dict(ops),
        "inputs": [i.name for i in g.input if i.name not in inits],
        "outputs": [o.name for o in g.output],
        "params": int(params),
    }
json.dump(out, sys.stdout)
`

func TestInspectAgreesWithONNX(t *testing.T) {
	models := testenv.Models(t)
	py := testenv.PythonONNX(t)
	cmd := exec.Command(py, append([]string{"-c", pythonSummary}, models...)...)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python onnx: %v", err)
	}
	var want map[string]struct {
		IRVersion int64          `json:"ir_version"`
		Nodes     int            `json:"nodes"`
		Ops       map[string]int `json:"ops"`
		Inputs    []string       `json:"inputs"`
		Outputs   []string       `json:"outputs"`
		Params    int64          `json:"params"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	// The histogram counts nodes of subgraphs too; "nodes" only the top graph.
	for _, path := range models {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"inspect", path, "--json"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var got modelinfo.Summary
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("--json output does not parse: %v", err)
			}
			w := want[path]
			if got.IRVersion != w.IRVersion || got.Nodes != w.Nodes {
				t.Errorf("ir %d nodes %d, onnx says ir %d nodes %d", got.IRVersion, got.Nodes, w.IRVersion, w.Nodes)
			}
			ops := map[string]int{}
			for _, o := range got.OpTypes {
				ops[o.OpType] += o.Count
			}
			for op, n := range w.Ops {
				if ops[op] != n {
					t.Errorf("op %s: %d nodes, onnx says %d", op, ops[op], n)
				}
			}
			var gotIn, gotOut []string
			for _, v := range got.Inputs {
				gotIn = append(gotIn, v.Name)
			}
			for _, v := range got.Outputs {
				gotOut = append(gotOut, v.Name)
			}
			if strings.Join(gotIn, ",") != strings.Join(w.Inputs, ",") || strings.Join(gotOut, ",") != strings.Join(w.Outputs, ",") {
				t.Errorf("inputs %v outputs %v, onnx says %v %v", gotIn, gotOut, w.Inputs, w.Outputs)
			}
			// Parameters counted by onnx: initializers and Constant "value"
			// tensors of the top graph; ours also count subgraph constants.
			if got.Parameters < w.Params {
				t.Errorf("parameters %d, onnx counts at least %d", got.Parameters, w.Params)
			}
			if got.SubgraphNodes == 0 && got.Parameters != w.Params {
				t.Errorf("parameters %d, onnx says %d", got.Parameters, w.Params)
			}
			// The text form works too.
			stdout.Reset()
			if code := run([]string{"inspect", path}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "opsets:") {
				t.Errorf("text inspect: exit %d, output %q", code, stdout.String())
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.onnx")
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(garbage, []byte("this is not a model at all, just text\n"), 0o644)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no model", []string{"inspect"}, 2, "want one MODEL"},
		{"two models", []string{"inspect", "a", "b"}, 2, "want one MODEL"},
		{"unknown flag", []string{"inspect", "--nope", empty}, 2, "nope"},
		{"missing file", []string{"inspect", filepath.Join(dir, "missing.onnx")}, 1, "missing.onnx"},
		{"directory", []string{"inspect", dir}, 1, dir},
		{"empty file", []string{"inspect", empty}, 1, "empty.onnx"},
		{"garbage", []string{"inspect", garbage}, 1, "garbage.onnx"},
		{"help", []string{"inspect", "--help"}, 0, "Usage: onnxquant inspect"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.inStderr)
			}
		})
	}
}
