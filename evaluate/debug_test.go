package evaluate_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// handModels builds a float model z = Relu(x W) and a quantized version
// written by hand: x through a QuantizeLinear/DequantizeLinear pair (scale
// 0.1), W stored int8 per column behind a DequantizeLinear (axis 1) with a
// deliberate error, and z left 8-bit as z_quantized (scale 0.3), whose
// scale and zero point are named unconventionally so that only the
// QuantizeLinear writing it tells them.
func handModels() (float, quant *onnxbuild.Model) {
	float = onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("z", tensor.Float32, 1, 2).
		Init("W", tensor.FromSlice([]int{2, 2}, []float32{1, 2, 3, 4})).
		Node("MatMul", []string{"x", "W"}, []string{"y"}).
		Node("Relu", []string{"y"}, []string{"z"})
	quant = onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("z_quantized", tensor.Uint8, 1, 2).
		Init("x_scale", tensor.Scalar(float32(0.1))).Init("x_zero_point", tensor.Scalar(uint8(0))).
		// Column 0 exact (scale 1); column 1 (scale 0.5) stores 5 for 2.
		Init("W_quantized", tensor.FromSlice([]int{2, 2}, []int8{1, 5, 3, 8})).
		Init("W_scale", tensor.FromSlice([]int{2}, []float32{1, 0.5})).
		Init("W_zero_point", tensor.FromSlice([]int{2}, []int8{0, 0})).
		Init("zs", tensor.Scalar(float32(0.3))).Init("zzp", tensor.Scalar(uint8(0))).
		Node("QuantizeLinear", []string{"x", "x_scale", "x_zero_point"}, []string{"x_QuantizeLinear_Output"}).
		Node("DequantizeLinear", []string{"x_QuantizeLinear_Output", "x_scale", "x_zero_point"}, []string{"x_DequantizeLinear_Output"}).
		Node("DequantizeLinear", []string{"W_quantized", "W_scale", "W_zero_point"}, []string{"W_DequantizeLinear_Output"}, onnxbuild.AttrInt("axis", 1)).
		Node("MatMul", []string{"x_DequantizeLinear_Output", "W_DequantizeLinear_Output"}, []string{"y"}).
		Node("Relu", []string{"y"}, []string{"r"}).
		Node("QuantizeLinear", []string{"r", "zs", "zzp"}, []string{"z_quantized"})
	return float, quant
}

// TestDebugHandModel checks Debug on a model pair small enough to work out
// by hand. For x = (0.26, 1):
//
//	float:     y = z = (0.26 + 3, 0.52 + 4) = (3.26, 4.52)
//	quantized: x -> (0.3, 1); W -> [[1, 2.5], [3, 4]];
//	           y = (0.3 + 3, 0.75 + 4) = (3.3, 4.75);
//	           z = 0.3 * round((3.3, 4.75) / 0.3) = 0.3 * (11, 16) = (3.3, 4.8)
//
// Σx² = 3.26² + 4.52² = 31.058; y's Σ(x-y)² = 0.04² + 0.23² = 0.0545,
// z's 0.04² + 0.28² = 0.08. W: Σw² = 30, the only error 0.5 (column 1,
// whose Σw² is 20).
func TestDebugHandModel(t *testing.T) {
	fb, qb := handModels()
	sample := map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, 2}, []float32{0.26, 1})}
	rep, err := evaluate.Debug(fb.M, qb.M, dataset.FromTensors([]map[string]*tensor.Tensor{sample}), evaluate.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 1 {
		t.Errorf("samples %d, want 1", rep.Samples)
	}
	wantTensors := []struct {
		name, counterpart string
		dequantized       bool
		node, op          string
		index             int
		sqnr, maxErr      float64
	}{
		{"z", "z_quantized", true, "Relu_z", "Relu", 1, 10 * math.Log10(31.058/0.08), 0.28},
		{"y", "y", false, "MatMul_y", "MatMul", 0, 10 * math.Log10(31.058/0.0545), 0.23},
		{"x", "x", false, "", "", -1, math.Inf(1), 0},
	}
	if len(rep.Tensors) != len(wantTensors) {
		t.Fatalf("%d tensors, want %d: %+v", len(rep.Tensors), len(wantTensors), rep.Tensors)
	}
	for i, w := range wantTensors {
		g := rep.Tensors[i]
		if g.Name != w.name || g.Counterpart != w.counterpart || g.Dequantized != w.dequantized ||
			g.Producer.Name != w.node || g.Producer.OpType != w.op || g.Producer.Index != w.index {
			t.Errorf("tensor %d = %s <- %s (dequantized %v) by %+v; want %s <- %s (%v) by %s %s %d", i, g.Name, g.Counterpart, g.Dequantized, g.Producer, w.name, w.counterpart, w.dequantized, w.node, w.op, w.index)
		}
		if !near(g.Stats.SQNR(), w.sqnr, 1e-5) || !near(g.Stats.MaxAbsErr, w.maxErr, 1e-5) {
			t.Errorf("tensor %s: SQNR %v max %v, want %v %v", g.Name, g.Stats.SQNR(), g.Stats.MaxAbsErr, w.sqnr, w.maxErr)
		}
	}
	// Node groups: MatMul adds NSR 0.0545/31.058 to an exact input; Relu
	// adds 0.08/31.058 - 0.0545/31.058.
	if len(rep.Nodes) != 2 {
		t.Fatalf("%d node groups, want 2: %+v", len(rep.Nodes), rep.Nodes)
	}
	if n := rep.Nodes[0]; n.Tensor != "y" || len(n.Nodes) != 1 || n.Nodes[0].Name != "MatMul_y" || !near(n.AddedNSR, 0.0545/31.058, 1e-4) || !math.IsInf(n.InputSQNR, 1) {
		t.Errorf("first node group %+v, want MatMul_y adding %v", n, 0.0545/31.058)
	}
	if n := rep.Nodes[1]; n.Tensor != "z" || n.Nodes[0].Name != "Relu_z" || !near(n.AddedNSR, (0.08-0.0545)/31.058, 1e-3) || !slices.Equal(n.Inputs, []string{"y"}) {
		t.Errorf("second node group %+v, want Relu_z adding %v", n, (0.08-0.0545)/31.058)
	}
	if got := rep.NodeNames(1); !slices.Equal(got, []string{"MatMul_y"}) {
		t.Errorf("NodeNames(1) = %v", got)
	}
	if len(rep.Weights) != 1 {
		t.Fatalf("weights %+v, want W", rep.Weights)
	}
	w := rep.Weights[0]
	if w.Name != "W" || w.Quantized != "W_quantized" || w.Type != tensor.Int8 || w.Axis != 1 || w.Channels != 2 ||
		!near(w.Stats.SQNR(), 10*math.Log10(30/0.25), 1e-9) || w.Stats.MaxAbsErr != 0.5 ||
		w.WorstChannel != 1 || !near(w.WorstChannelSQNR, 10*math.Log10(20/0.25), 1e-9) ||
		len(w.Readers) != 1 || w.Readers[0].Name != "MatMul_y" {
		t.Errorf("weight %+v, want W int8 per column, SQNR %v, worst channel 1 at %v", w, 10*math.Log10(30/0.25), 10*math.Log10(20/0.25))
	}
}

// TestDebugBrokenLayer quantizes mnist-8 with the range of one tensor given
// 100 times too small, which clips it, and checks that Debug puts the node
// writing it first, in QDQ and QLinearOps form.
func TestDebugBrokenLayer(t *testing.T) {
	m := mnist8(t)
	tests := []struct {
		name   string
		cfg    quantize.Config
		broken string   // the tensor whose range is shrunk
		nodes  []string // the float nodes that compute it from matched tensors
	}{
		// QDQ writes the Conv's output through a Q/DQ pair under its own
		// name.
		{"qdq", quantize.Config{Format: quantize.QDQ, Static: true}, "Convolution110_Output_0", []string{"Convolution110"}},
		// QLinearOps fuses Plus30 and ReLU32 into one QLinearAdd writing
		// ReLU32_Output_0_quantized; Plus30_Output_0 exists no more.
		{"qlinear", quantize.Config{Format: quantize.QLinearOps, Static: true}, "ReLU32_Output_0", []string{"Plus30", "ReLU32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := quantizeMinMax(t, m, tc.cfg, digits(t, m, 30), nil)
			bad := quantizeMinMax(t, m, tc.cfg, digits(t, m, 30), map[string]float64{tc.broken: 100})
			repGood, err := evaluate.Debug(m, good, digits(t, m, 4), evaluate.DebugOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := evaluate.Debug(m, bad, digits(t, m, 4), evaluate.DebugOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range rep.Nodes[0].Nodes {
				names = append(names, n.Name)
			}
			if rep.Nodes[0].Tensor != tc.broken || !slices.Equal(names, tc.nodes) {
				t.Errorf("first node group %v -> %s, want %v -> %s (ranking: %+v)", names, rep.Nodes[0].Tensor, tc.nodes, tc.broken, rep.Nodes[:3])
			}
			if !slices.Equal(rep.NodeNames(1), tc.nodes) {
				t.Errorf("NodeNames(1) = %v, want %v", rep.NodeNames(1), tc.nodes)
			}
			// Clipping at 1/100 of the range keeps little of the signal;
			// well quantized, the same tensor is good to 8 bits.
			sqnr := func(r *evaluate.DebugReport) float64 {
				for _, te := range r.Tensors {
					if te.Name == tc.broken {
						return te.Stats.SQNR()
					}
				}
				t.Fatalf("tensor %s not in the report", tc.broken)
				return 0
			}
			if s := sqnr(rep); s > 6 {
				t.Errorf("broken %s: SQNR %.2f dB, want under 6", tc.broken, s)
			}
			if s := sqnr(repGood); s < 30 {
				t.Errorf("well quantized %s: SQNR %.2f dB, want over 30", tc.broken, s)
			}
			// The tensor ranking is worst first.
			for i := 1; i < len(rep.Tensors); i++ {
				if rep.Tensors[i].Stats.SQNR() < rep.Tensors[i-1].Stats.SQNR() {
					t.Fatalf("tensors not ranked worst first at %d: %v after %v", i, rep.Tensors[i].Stats.SQNR(), rep.Tensors[i-1].Stats.SQNR())
				}
			}
			// The float output and input are matched in both forms.
			for _, v := range []string{"Input3", "Plus214_Output_0"} {
				if !slices.ContainsFunc(rep.Tensors, func(te evaluate.TensorError) bool { return te.Name == v }) {
					t.Errorf("%s not matched", v)
				}
			}
		})
	}
}

// TestDebugWeights checks the per-channel weight errors of mnist-8's two
// convolutions against the rounding bound: symmetric int8 per output
// channel has scale max|w_c| / 127 at most, so no weight is off by more
// than half of that.
func TestDebugWeights(t *testing.T) {
	m := mnist8(t)
	g, err := graph.New(m)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]quantize.Config{
		"qdq":     {Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8},
		"qlinear": {Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8},
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			qm := quantizeMinMax(t, m, cfg, digits(t, m, 10), nil)
			rep, err := evaluate.Debug(m, qm, digits(t, m, 1), evaluate.DebugOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []struct {
				name     string
				channels int
			}{{"Parameter5", 8}, {"Parameter87", 16}} {
				i := slices.IndexFunc(rep.Weights, func(we evaluate.WeightError) bool { return we.Name == w.name })
				if i < 0 {
					t.Fatalf("weight %s not reported (%d weights; notes %v)", w.name, len(rep.Weights), rep.Notes)
				}
				we := rep.Weights[i]
				if we.Channels != w.channels || we.Axis != 0 || we.Type != tensor.Int8 {
					t.Errorf("%s: %d channels along axis %d, %v; want %d along 0, int8", w.name, we.Channels, we.Axis, we.Type, w.channels)
				}
				ft, _ := g.Constant(w.name)
				vals := ft.Data.([]float32)
				per := len(vals) / w.channels
				bound := 0.0
				for c := 0; c < w.channels; c++ {
					mx := 0.0
					for _, v := range vals[c*per : (c+1)*per] {
						mx = math.Max(mx, math.Abs(float64(v)))
					}
					bound = math.Max(bound, mx/127/2)
				}
				if we.Stats.MaxAbsErr > bound*(1+1e-5) || we.Stats.MaxAbsErr == 0 {
					t.Errorf("%s: max error %g, want in (0, %g]", w.name, we.Stats.MaxAbsErr, bound)
				}
				if we.Readers[0].OpType != "Conv" {
					t.Errorf("%s read by %+v", w.name, we.Readers)
				}
			}
		})
	}
}

// TestDebugMemoryBound checks that a budget too small for a whole run
// (one tensor at a time, each sample run again per tensor) gives the same
// figures as one pass.
func TestDebugMemoryBound(t *testing.T) {
	m := mnist8(t)
	qm := quantizeMinMax(t, m, quantize.Config{Format: quantize.QLinearOps, Static: true}, digits(t, m, 20), nil)
	one, err := evaluate.Debug(m, qm, digits(t, m, 2), evaluate.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := evaluate.Debug(m, qm, digits(t, m, 2), evaluate.DebugOptions{MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Tensors) != len(tiny.Tensors) || len(one.Tensors) < 8 {
		t.Fatalf("%d tensors in one pass, %d with a tiny budget", len(one.Tensors), len(tiny.Tensors))
	}
	for i := range one.Tensors {
		a, b := one.Tensors[i], tiny.Tensors[i]
		if a.Name != b.Name || a.Stats != b.Stats {
			t.Errorf("tensor %d: %s %+v against %s %+v", i, a.Name, a.Stats, b.Name, b.Stats)
		}
	}
}

func TestDebugErrors(t *testing.T) {
	m := mnist8(t)
	fb, qb := handModels()
	other := onnxbuild.New(13).Input("x", tensor.Float32, 1, 3).Output("y", tensor.Float32, 1, 3).Node("Relu", []string{"x"}, []string{"y"})
	renamed := onnxbuild.New(13).Input("input", tensor.Float32, 1, 2).Output("y", tensor.Float32, 1, 2).Node("Relu", []string{"input"}, []string{"y"})
	sample := []map[string]*tensor.Tensor{{"x": tensor.FromSlice([]int{1, 2}, []float32{1, 2})}}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"other shapes", func() error {
			_, err := evaluate.Debug(fb.M, other.M, dataset.FromTensors(sample), evaluate.DebugOptions{})
			return err
		}, "different inputs"},
		{"other names", func() error {
			_, err := evaluate.Debug(fb.M, renamed.M, dataset.FromTensors(sample), evaluate.DebugOptions{})
			return err
		}, `no input "x"`},
		{"mnist against a hand model", func() error {
			_, err := evaluate.Debug(m, qb.M, dataset.FromTensors(sample), evaluate.DebugOptions{})
			return err
		}, "different inputs"},
		{"no samples", func() error {
			_, err := evaluate.Debug(fb.M, qb.M, dataset.FromTensors(nil), evaluate.DebugOptions{})
			return err
		}, "no samples"},
		{"sample for another model", func() error {
			bad := []map[string]*tensor.Tensor{{"x": tensor.FromSlice([]int{1, 3}, []float32{1, 2, 3})}}
			_, err := evaluate.Debug(fb.M, qb.M, dataset.FromTensors(bad), evaluate.DebugOptions{})
			return err
		}, "sample 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "evaluate: ") {
				t.Errorf("error %v, want one starting \"evaluate: \" and mentioning %q", err, tc.want)
			}
		})
	}
}

// TestDebugSkipsMismatched checks that a same-named value that is not the
// same tensor (another element count) is left out with a note, not
// compared.
func TestDebugSkipsMismatched(t *testing.T) {
	fb := onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("z", tensor.Float32, 1, 2).
		Node("Relu", []string{"x"}, []string{"y"}).Node("Neg", []string{"y"}, []string{"z"})
	qb := onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("z", tensor.Float32, 1, 4).
		Node("Concat", []string{"x", "x"}, []string{"y"}, onnxbuild.AttrInt("axis", 1)).Node("Neg", []string{"y"}, []string{"z"})
	sample := []map[string]*tensor.Tensor{{"x": tensor.FromSlice([]int{1, 2}, []float32{1, -2})}}
	rep, err := evaluate.Debug(fb.M, qb.M, dataset.FromTensors(sample), evaluate.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tensors) != 1 || rep.Tensors[0].Name != "x" {
		t.Errorf("tensors %+v, want only x", rep.Tensors)
	}
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, `tensor "y" left out`) || !strings.Contains(notes, `tensor "z" left out`) {
		t.Errorf("notes %q, want y and z left out", notes)
	}
}
