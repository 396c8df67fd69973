package opset

import (
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestRefusals checks that models Upgrade must not convert are refused
// with an *Error naming the node, operator, versions and reason, and that
// the model is left unchanged.
func TestRefusals(t *testing.T) {
	f32 := tensor.Float32
	tests := []struct {
		name   string
		model  func() *onnxbuild.Model
		target int64
		node   string // expected Error.Node ("" for a model-level error)
		op     string
		reason string // substring of the reason
	}{
		{
			name: "unknown operator",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(8).Input("x", f32, 1, 3, 2, 2).OutputNoShape("y", f32).
					Node("ImageScaler", []string{"x"}, []string{"y"}, onnxbuild.AttrFloat("scale", 2))
			},
			target: 13, node: "ImageScaler_y", op: "ImageScaler", reason: "not in the ai.onnx opset table",
		},
		{
			name: "operator newer than the model's opset",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 2).OutputNoShape("y", f32).Node("Round", []string{"x"}, []string{"y"})
			},
			target: 13, node: "Round_y", op: "Round", reason: "introduced at version 11",
		},
		{
			name: "Scan-8 signature change",
			model: func() *onnxbuild.Model {
				body := onnxbuild.New(8).Input("s", f32, 2).Input("e", f32, 2).OutputNoShape("s2", f32).OutputNoShape("o", f32).
					Node("Add", []string{"s", "e"}, []string{"s2"}).Node("Identity", []string{"s2"}, []string{"o"}).M.Graph
				return onnxbuild.New(8).Input("init", f32, 1, 2).Input("seq", f32, 1, 3, 2).OutputNoShape("fin", f32).OutputNoShape("outs", f32).
					Node("Scan", []string{"", "init", "seq"}, []string{"fin", "outs"}, onnxbuild.AttrGraph("body", body), onnxbuild.AttrInt("num_scan_inputs", 1))
			},
			target: 9, node: "Scan_fin", op: "Scan", reason: "sequence_lens input removed",
		},
		{
			name: "BatchNormalization-6 in training mode",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(6).Input("x", f32, 1, 2, 2, 2).Input("s", f32, 2).Input("b", f32, 2).Input("m", f32, 2).Input("v", f32, 2).OutputNoShape("y", f32).
					Node("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y"})
			},
			target: 7, node: "BatchNormalization_y", op: "BatchNormalization", reason: "is_test=0",
		},
		{
			name: "BatchNormalization-7 per-activation statistics",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(7).Input("x", f32, 1, 2, 2, 2).Input("s", f32, 2).Input("b", f32, 2).Input("m", f32, 2).Input("v", f32, 2).OutputNoShape("y", f32).
					Node("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y"}, onnxbuild.AttrInt("spatial", 0))
			},
			target: 13, node: "BatchNormalization_y", op: "BatchNormalization", reason: "spatial=0",
		},
		{
			name: "Dropout mask in use",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 2).OutputNoShape("y", f32).OutputNoShape("mask", f32).
					Node("Dropout", []string{"x"}, []string{"y", "mask"})
			},
			target: 10, node: "Dropout_y", op: "Dropout", reason: "mask output \"mask\" is used",
		},
		{
			name: "Resize-10 nearest downscale",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 1, 1, 4, 4).OutputNoShape("y", f32).
					Init("s", tensor.FromSlice([]int{4}, []float32{1, 1, 0.5, 0.5})).
					Node("Resize", []string{"x", "s"}, []string{"y"})
			},
			target: 11, node: "Resize_y", op: "Resize", reason: "scale 0.5 < 1",
		},
		{
			name: "Resize-10 nearest with computed scales",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 1, 1, 4, 4).Input("s", f32, 4).OutputNoShape("y", f32).
					Node("Resize", []string{"x", "s"}, []string{"y"})
			},
			target: 13, node: "Resize_y", op: "Resize", reason: "non-constant scales",
		},
		{
			name: "Resize-11 tf_half_pixel_for_nn",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 1, 1, 4, 4).OutputNoShape("y", f32).
					Init("roi", tensor.FromSlice([]int{0}, []float32{})).Init("s", tensor.FromSlice([]int{4}, []float32{1, 1, 2, 2})).
					Node("Resize", []string{"x", "roi", "s"}, []string{"y"}, onnxbuild.AttrString("coordinate_transformation_mode", "tf_half_pixel_for_nn"))
			},
			target: 13, node: "Resize_y", op: "Resize", reason: "tf_half_pixel_for_nn",
		},
		{
			name: "legacy broadcast axis with unknown rank",
			model: func() *onnxbuild.Model {
				m := onnxbuild.New(6).Input("b", f32, 3).OutputNoShape("y", f32)
				m.M.Graph.Input = append(m.M.Graph.Input, onnxbuild.ValueInfo("a", f32, nil))
				return m.Node("Add", []string{"a", "b"}, []string{"y"}, onnxbuild.AttrInt("broadcast", 1), onnxbuild.AttrInt("axis", 1))
			},
			target: 7, node: "Add_y", op: "Add", reason: "ranks of both inputs",
		},
		{
			name: "GroupNormalization-18 scale shape change",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(18).Input("x", f32, 1, 4, 2).Input("s", f32, 2).Input("b", f32, 2).OutputNoShape("y", f32).
					Node("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, onnxbuild.AttrInt("num_groups", 2))
			},
			target: 21, node: "GroupNormalization_y", op: "GroupNormalization", reason: "per-group to per-channel",
		},
		{
			name: "refusal inside an If branch",
			model: func() *onnxbuild.Model {
				then := onnxbuild.New(9).OutputNoShape("t", f32).Node("Dropout", []string{"x"}, []string{"t", "tm"}).
					Node("Identity", []string{"tm"}, []string{"t2"}).M.Graph
				then.Output = append(then.Output, onnxbuild.ValueInfo("t2", f32, nil))
				els := onnxbuild.New(9).OutputNoShape("e", f32).OutputNoShape("e2", f32).Node("Identity", []string{"x"}, []string{"e"}).Node("Identity", []string{"x"}, []string{"e2"}).M.Graph
				then.Name, els.Name = proto.String("then"), proto.String("else")
				return onnxbuild.New(9).Input("x", f32, 2).Input("c", tensor.Bool).OutputNoShape("y", f32).OutputNoShape("y2", f32).
					Node("If", []string{"c"}, []string{"y", "y2"}, onnxbuild.AttrGraph("then_branch", then), onnxbuild.AttrGraph("else_branch", els))
			},
			target: 13, node: "Dropout_t", op: "Dropout", reason: "is used",
		},
		{
			name: "target above the table",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(13).Input("x", f32, 2).OutputNoShape("y", f32).Node("Relu", []string{"x"}, []string{"y"})
			},
			target: MaxVersion + 1, reason: "newest this package knows",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model().M
			before := proto.Clone(m)
			rep, err := Upgrade(m, tc.target)
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("Upgrade = %v, %v; want an *Error", rep, err)
			}
			if ue.Node != tc.node || (tc.op != "" && ue.Op != tc.op) || !strings.Contains(ue.Reason, tc.reason) {
				t.Errorf("error %+v; want node %q, op %q, reason containing %q", ue, tc.node, tc.op, tc.reason)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "opset: ") || !strings.Contains(msg, tc.node) || !strings.Contains(msg, "to ") {
				t.Errorf("message %q does not name the package, node and versions", msg)
			}
			if !proto.Equal(before, m) {
				t.Error("the model was modified by a refused Upgrade")
			}
		})
	}
}

// TestUpgradeBasics covers the version bookkeeping: no-op targets, the IR
// version raised with initializers unlisted from the inputs for IR 3,
// other domains left alone, and invalid models.
func TestUpgradeBasics(t *testing.T) {
	f32 := tensor.Float32
	t.Run("already at or above target", func(t *testing.T) {
		m := onnxbuild.New(13).Input("x", f32, 2).OutputNoShape("y", f32).Node("Relu", []string{"x"}, []string{"y"}).M
		before := proto.Clone(m)
		for _, target := range []int64{9, 13} {
			rep, err := Upgrade(m, target)
			if err != nil || rep.From != 13 || rep.To != 13 || len(rep.Converted) != 0 {
				t.Fatalf("Upgrade(13 -> %d) = %+v, %v", target, rep, err)
			}
		}
		if !proto.Equal(before, m) {
			t.Error("model changed")
		}
	})
	t.Run("IR 3 model", func(t *testing.T) {
		b := onnxbuild.New(8).Input("x", f32, 1, 3).Input("w", f32, 3).OutputNoShape("y", f32).
			Init("w", tensor.FromSlice([]int{3}, []float32{1, 2, 3})).
			Node("Mul", []string{"x", "w"}, []string{"y"}).
			NodeIn("com.microsoft", "FusedThing", []string{"y"}, []string{"z"}, onnxbuild.AttrInts("axes", 1)).Opset("com.microsoft", 1)
		b.M.IrVersion = proto.Int64(3)
		m := b.M
		rep, err := Upgrade(m, 13)
		if err != nil {
			t.Fatal(err)
		}
		if m.GetIrVersion() != 7 || rep.IRFrom != 3 || rep.IRTo != 7 {
			t.Errorf("IR %d (report %d -> %d), want 7", m.GetIrVersion(), rep.IRFrom, rep.IRTo)
		}
		var inputs []string
		for _, vi := range m.GetGraph().GetInput() {
			inputs = append(inputs, vi.GetName())
		}
		if !slices.Equal(inputs, []string{"x"}) {
			t.Errorf("inputs %v, want [x] (initializer w unlisted)", inputs)
		}
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "1 initializers removed") {
			t.Errorf("warnings %q", rep.Warnings)
		}
		var versions []string
		for _, imp := range m.GetOpsetImport() {
			versions = append(versions, imp.GetDomain()+":"+string(rune('0'+imp.GetVersion()/10))+string(rune('0'+imp.GetVersion()%10)))
		}
		if !slices.Equal(versions, []string{":13", "com.microsoft:01"}) {
			t.Errorf("opset imports %v", versions)
		}
		if a := m.GetGraph().GetNode()[1].GetAttribute(); len(a) != 1 || a[0].GetName() != "axes" {
			t.Errorf("com.microsoft node changed: %v", a)
		}
	})
	t.Run("invalid models", func(t *testing.T) {
		noImport := onnxbuild.New(9).M
		noImport.OpsetImport = nil
		twice := onnxbuild.New(9).Opset("ai.onnx", 11).M
		for name, m := range map[string]*onnx.ModelProto{"nil": nil, "no graph": {}, "no import": noImport, "two imports": twice} {
			if _, err := Upgrade(m, 13); err == nil || !strings.HasPrefix(err.Error(), "opset: ") {
				t.Errorf("%s: err = %v", name, err)
			}
		}
	})
	t.Run("local function importing ai.onnx", func(t *testing.T) {
		m := onnxbuild.New(9).M
		m.Functions = []*onnx.FunctionProto{{Name: proto.String("f"), Domain: proto.String("local"),
			OpsetImport: []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(9)}}}}
		var ue *Error
		if _, err := Upgrade(m, 13); !errors.As(err, &ue) || !strings.Contains(ue.Reason, "function") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestTableShape checks the table's invariants: versions strictly
// increasing, a conversion for every step after the first, deprecation at
// the last version, nothing above MaxVersion.
func TestTableShape(t *testing.T) {
	for op, hist := range table {
		if len(hist.steps) == 0 {
			t.Errorf("%s: no versions", op)
			continue
		}
		for i, st := range hist.steps {
			if i == 0 && st.conv != nil {
				t.Errorf("%s-%d: the first version has a conversion", op, st.v)
			}
			if i > 0 && (st.conv == nil || st.why == "") {
				t.Errorf("%s-%d: step without conversion or explanation", op, st.v)
			}
			if i > 0 && st.v <= hist.steps[i-1].v {
				t.Errorf("%s: versions not increasing at %d", op, st.v)
			}
			if st.v < 1 || st.v > MaxVersion {
				t.Errorf("%s: version %d outside 1..%d", op, st.v, MaxVersion)
			}
		}
		if hist.deprecated != 0 && hist.deprecated != hist.steps[len(hist.steps)-1].v {
			t.Errorf("%s: deprecated at %d, not its last version", op, hist.deprecated)
		}
	}
}

// schemaScript prints, from Python onnx's operator schemas, every ai.onnx
// operator's versions and the version it was deprecated at.
const schemaScript = `
import json
from onnx import defs
ops = {}
for s in defs.get_all_schemas_with_history():
    if s.domain in ("", "ai.onnx"):
        e = ops.setdefault(s.name, {"versions": [], "deprecated": 0})
        e["versions"].append(s.since_version)
        if s.deprecated:
            e["deprecated"] = s.since_version
print(json.dumps({"max": defs.onnx_opset_version(), "ops": ops}))
`

// TestTableAgainstONNXSchemas compares the table with the operator schemas
// of the Python onnx package (a second, independent source), for every
// version up to the newest that package knows.
func TestTableAgainstONNXSchemas(t *testing.T) {
	py := testenv.PythonONNX(t)
	out, err := exec.Command(py, "-c", schemaScript).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var ref struct {
		Max int64
		Ops map[string]struct {
			Versions   []int64
			Deprecated int64
		}
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Max < 13 {
		t.Fatalf("python onnx knows only opset %d", ref.Max)
	}
	for op, r := range ref.Ops {
		hist, ok := table[op]
		if !ok {
			t.Errorf("%s: in onnx's schemas, missing from the table", op)
			continue
		}
		var mine []int64
		for _, st := range hist.steps {
			if st.v <= ref.Max {
				mine = append(mine, st.v)
			}
		}
		want := slices.Sorted(slices.Values(r.Versions))
		if !slices.Equal(mine, want) {
			t.Errorf("%s: table versions %v, onnx %v (up to %d)", op, mine, want, ref.Max)
		}
		if r.Deprecated != hist.deprecated {
			t.Errorf("%s: deprecated at %d, onnx says %d", op, hist.deprecated, r.Deprecated)
		}
	}
	for op, hist := range table {
		if _, ok := ref.Ops[op]; !ok && hist.steps[0].v <= ref.Max {
			t.Errorf("%s: in the table from version %d, unknown to onnx %d", op, hist.steps[0].v, ref.Max)
		}
	}
}
