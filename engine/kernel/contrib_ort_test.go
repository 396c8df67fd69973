//go:build cgo

package kernel_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// The quantized operators are checked here against ONNX Runtime itself: for
// every operator, single-node models with seeded random data (several
// shapes, uint8 and int8, per-tensor and per-channel parameters, and
// "tie-prone" parameters: power-of-two scales with narrow data, so that many
// values land exactly halfway between two integers and the rounding mode
// matters) are run in ONNX Runtime and in the engine, and the outputs must
// be equal. Parameters (weights, scales, zero points) are initializers, as
// in a quantized model, so ONNX Runtime takes its prepacked paths.

// qoCase is one model and its inputs.
type qoCase struct {
	op     string // operator, for the report
	name   string
	model  *onnxbuild.Model
	inputs map[string]*tensor.Tensor
	// tol is the largest difference allowed, in units of the output's
	// last place (integers: 1 = one quantization step; float32: ULPs).
	tol int64
	// ortMayRefuse lets the case pass when ONNX Runtime refuses the model
	// (a combination it does not implement), with the reason logged.
	ortMayRefuse bool
	// exact, when set, computes the exact expected outputs independently:
	// the engine must match them, and ONNX Runtime's differences from them
	// are only reported (for its known saturation of uint8 x int8 products
	// on AVX2, see TestQuantizedOpsMatchORT).
	exact func() map[string]*tensor.Tensor
}

// qoStats accumulates the comparison of one operator.
type qoStats struct {
	cases, compared, differing int
	maxDiff                    int64
	notes                      []string
}

func TestQuantizedOpsMatchORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	r := rand.New(rand.NewPCG(2024, 7))
	var cases []qoCase
	for _, gen := range []func(*rand.Rand) []qoCase{
		qoQuantizeCases, qoDequantizeCases, qoDynamicQuantizeCases,
		qoMatMulIntegerCases, qoConvIntegerCases, qoQLinearConvCases, qoQLinearMatMulCases,
		qoBinaryCases, qoConcatCases, qoGlobalAvgCases, qoAvgPoolCases,
		qoLookupCases, qoSoftmaxCases, qoQGemmCases, qoMatMulToFloatCases,
	} {
		cases = append(cases, gen(r)...)
	}
	stats := map[string]*qoStats{}
	for _, c := range cases {
		st := stats[c.op]
		if st == nil {
			st = &qoStats{}
			stats[c.op] = st
		}
		t.Run(c.op+"/"+c.name, func(t *testing.T) {
			got, want, refused := qoRunBoth(t, c)
			if refused != "" {
				st.notes = append(st.notes, fmt.Sprintf("%s: ONNX Runtime refused: %s", c.name, refused))
				t.Skipf("ONNX Runtime refused the model: %s", refused)
			}
			if c.exact != nil {
				ref := c.exact()
				for name, w := range ref {
					n, diff, worst, at, err := qoCompare(got[name], w)
					if err != nil || diff > 0 {
						t.Fatalf("output %q: engine differs from the exact result in %d of %d values (worst %d at %d), err %v", name, diff, n, worst, at, err)
					}
					_, odiff, oworst, _, err := qoCompare(want[name], w)
					if err != nil {
						t.Fatal(err)
					}
					st.notes = append(st.notes, fmt.Sprintf("%s: engine equals the exact int64 result; ONNX Runtime differs from it in %d of %d values (by up to %d)", c.name, odiff, n, oworst))
				}
				return
			}
			st.cases++
			for name, w := range want {
				g, ok := got[name]
				if !ok {
					t.Fatalf("engine did not produce output %q", name)
				}
				n, diff, worst, at, err := qoCompare(g, w)
				if err != nil {
					t.Fatalf("output %q: %v", name, err)
				}
				st.compared += n
				st.differing += diff
				st.maxDiff = max(st.maxDiff, worst)
				if worst > c.tol {
					t.Errorf("output %q: %d of %d values differ, worst by %d at %d (engine %v, ONNX Runtime %v); allowed %d",
						name, diff, n, worst, at, qoElemString(g, at), qoElemString(w, at), c.tol)
				}
			}
		})
	}
	var ops []string
	for op := range stats {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-26s %6s %10s %10s %8s", "operator", "cases", "compared", "differing", "max diff")
	for _, op := range ops {
		st := stats[op]
		fmt.Fprintf(&b, "\n%-26s %6d %10d %10d %8d", op, st.cases, st.compared, st.differing, st.maxDiff)
		for _, note := range st.notes {
			fmt.Fprintf(&b, "\n    %s", note)
		}
	}
	t.Logf("engine vs ONNX Runtime:%s", b.String())
}

// qoRunBoth runs a case in ONNX Runtime and in the engine. refused is set when
// ONNX Runtime cannot load or run a model it is allowed to refuse.
func qoRunBoth(t *testing.T, c qoCase) (got, want map[string]*tensor.Tensor, refused string) {
	t.Helper()
	data := c.model.Bytes()
	s, err := ort.NewSession(data, ort.Options{Threads: 1})
	if err == nil {
		defer s.Close()
		want, err = s.Run(c.inputs, nil)
	}
	if err != nil {
		if c.ortMayRefuse {
			return nil, nil, err.Error()
		}
		t.Fatalf("ONNX Runtime: %v", err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	sess, err := engine.New(&m, engine.Options{Threads: 2})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	got, err = sess.Run(context.Background(), c.inputs)
	if err != nil {
		t.Fatalf("engine run: %v", err)
	}
	return got, want, ""
}

// qoCompare compares two tensors of the same type and shape element by
// element and returns the number compared, the number that differ, the
// largest difference (integer steps, or float32 ULPs) and where it is.
func qoCompare(got, want *tensor.Tensor) (n, diff int, worst int64, at int, err error) {
	if got.DType != want.DType {
		return 0, 0, 0, 0, fmt.Errorf("type %v, want %v", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return 0, 0, 0, 0, fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	n = want.Len()
	for i := 0; i < n; i++ {
		d := qoElemDiff(got, want, i)
		if d != 0 {
			diff++
			if d > worst {
				worst, at = d, i
			}
		}
	}
	return n, diff, worst, at, nil
}

func qoElemDiff(a, b *tensor.Tensor, i int) int64 {
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	switch x := a.Data.(type) {
	case []uint8:
		return abs(int64(x[i]) - int64(b.Data.([]uint8)[i]))
	case []int8:
		return abs(int64(x[i]) - int64(b.Data.([]int8)[i]))
	case []uint16:
		return abs(int64(x[i]) - int64(b.Data.([]uint16)[i]))
	case []int16:
		return abs(int64(x[i]) - int64(b.Data.([]int16)[i]))
	case []int32:
		return abs(int64(x[i]) - int64(b.Data.([]int32)[i]))
	case []float32:
		u, v := x[i], b.Data.([]float32)[i]
		if math.Float32bits(u) == math.Float32bits(v) {
			return 0
		}
		if (u < 0) != (v < 0) {
			return math.MaxInt32
		}
		return abs(int64(math.Float32bits(u)) - int64(math.Float32bits(v)))
	}
	return math.MaxInt64
}

func qoElemString(t *tensor.Tensor, i int) string {
	switch d := t.Data.(type) {
	case []uint8:
		return fmt.Sprint(d[i])
	case []int8:
		return fmt.Sprint(d[i])
	case []uint16:
		return fmt.Sprint(d[i])
	case []int16:
		return fmt.Sprint(d[i])
	case []int32:
		return fmt.Sprint(d[i])
	case []float32:
		return fmt.Sprint(d[i])
	}
	return "?"
}

// ---- data helpers ----

const qoMS = "com.microsoft"

func qoModel(opset int64, contrib bool) *onnxbuild.Model {
	m := onnxbuild.New(opset)
	if opset >= 21 {
		m.M.IrVersion = proto.Int64(10)
	}
	if contrib {
		m.Opset(qoMS, 1)
	}
	return m
}

// qoRand returns n random values of an 8-bit type around zp, within
// spread of it (spread 0 means the full range).
func qoRand(r *rand.Rand, dt tensor.DataType, n int, zp int32, spread int32) *tensor.Tensor {
	lo, hi := int32(0), int32(255)
	if dt == tensor.Int8 {
		lo, hi = -128, 127
	}
	if spread > 0 {
		lo, hi = max(lo, zp-spread), min(hi, zp+spread)
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = lo + int32(r.IntN(int(hi-lo+1)))
	}
	return qoTensor(dt, []int{n}, v)
}

// qoTensor makes an 8-bit tensor of the given shape from int32 values.
func qoTensor(dt tensor.DataType, shape []int, v []int32) *tensor.Tensor {
	switch dt {
	case tensor.Uint8:
		d := make([]uint8, len(v))
		for i, x := range v {
			d[i] = uint8(x)
		}
		return tensor.FromSlice(shape, d)
	case tensor.Int8:
		d := make([]int8, len(v))
		for i, x := range v {
			d[i] = int8(x)
		}
		return tensor.FromSlice(shape, d)
	}
	panic("qTensor: " + dt.String())
}

func qoReshape(t *tensor.Tensor, shape ...int) *tensor.Tensor {
	t.Shape = shape
	return t
}

// qoZP makes a scalar zero point of type dt.
func qoZP(dt tensor.DataType, v int32) *tensor.Tensor {
	return qoTensor(dt, []int{}, []int32{v})
}

func qoF32(v float32) *tensor.Tensor { return tensor.FromSlice([]int{}, []float32{v}) }

func qoF32s(v ...float32) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }

// qoFloats returns n floats: uniform in [-amp, amp], or, when tie is not
// zero, random multiples of tie/2 (values halfway between multiples of tie).
func qoFloats(r *rand.Rand, n int, amp, tie float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		if tie != 0 {
			k := r.IntN(int(2*amp/tie*2)+1) - int(amp/tie*2)
			v[i] = float32(k) * tie / 2
		} else {
			v[i] = (r.Float32()*2 - 1) * amp
		}
	}
	return v
}

func qoRandZP(r *rand.Rand, dt tensor.DataType) int32 {
	if dt == tensor.Int8 {
		return int32(r.IntN(41)) - 20
	}
	return 108 + int32(r.IntN(41))
}

func qoShort(dt tensor.DataType) string {
	if dt == tensor.Int8 {
		return "s8"
	}
	return "u8"
}

// ---- QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear ----

func qoQuantizeCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for _, opset := range []int64{13, 19, 21} {
		for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8, tensor.Uint16, tensor.Int16} {
			if opset < 21 && (dt == tensor.Uint16 || dt == tensor.Int16) {
				continue
			}
			for _, mode := range []string{"tensor", "axis", "block"} {
				if mode == "block" && opset < 21 {
					continue
				}
				for _, ties := range []bool{false, true} {
					shape := []int{2, 6, 5, 4}
					n := 240
					scale := float32(0.0173)
					tie := float32(0)
					if ties {
						scale, tie = 0.5, 0.5
					}
					if dt == tensor.Uint16 || dt == tensor.Int16 {
						scale /= 64
						if ties {
							tie = scale
						}
					}
					x := tensor.FromSlice(shape, qoFloats(r, n, 3, tie))
					if ties {
						// The quotient x/scale is then a multiple of 1/2.
						for i, v := range x.Data.([]float32) {
							x.Data.([]float32)[i] = v * scale / tie
						}
					}
					var sT, zT *tensor.Tensor
					var attrs []*onnx.AttributeProto
					zpOf := func() int32 {
						switch dt {
						case tensor.Uint16:
							return 30000 + int32(r.IntN(2000))
						case tensor.Int16:
							return int32(r.IntN(2001)) - 1000
						}
						return qoRandZP(r, dt)
					}
					mkZP := func(shape []int, n int) *tensor.Tensor {
						v := make([]int32, n)
						for i := range v {
							v[i] = zpOf()
						}
						switch dt {
						case tensor.Uint16:
							d := make([]uint16, n)
							for i, x := range v {
								d[i] = uint16(x)
							}
							return tensor.FromSlice(shape, d)
						case tensor.Int16:
							d := make([]int16, n)
							for i, x := range v {
								d[i] = int16(x)
							}
							return tensor.FromSlice(shape, d)
						}
						return qoTensor(dt, shape, v)
					}
					switch mode {
					case "tensor":
						sT, zT = qoF32(scale), mkZP([]int{}, 1)
					case "axis":
						s := make([]float32, 6)
						for i := range s {
							s[i] = scale * float32(1+i%3)
						}
						sT, zT = qoF32s(s...), mkZP([]int{6}, 6)
						attrs = append(attrs, onnxbuild.AttrInt("axis", 1))
					case "block":
						s := make([]float32, 2*3*5*4)
						for i := range s {
							s[i] = scale * float32(1+i%4)
						}
						sT, zT = tensor.FromSlice([]int{2, 3, 5, 4}, s), mkZP([]int{2, 3, 5, 4}, 120)
						attrs = append(attrs, onnxbuild.AttrInt("axis", 1), onnxbuild.AttrInt("block_size", 2))
					}
					m := qoModel(opset, false).Input("x", tensor.Float32, shape...).
						Init("s", sT).Init("z", zT).
						Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}, attrs...).
						OutputNoShape("y", dt)
					out = append(out, qoCase{
						op: "QuantizeLinear", name: fmt.Sprintf("opset%d/%v/%s/ties=%v", opset, dt, mode, ties),
						model: m, inputs: map[string]*tensor.Tensor{"x": x}, ortMayRefuse: mode == "block",
					})
				}
			}
		}
	}
	// NaN and infinities saturate like out-of-range values.
	x := tensor.FromSlice([]int{6}, []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 0.25})
	for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
		m := qoModel(13, false).Input("x", tensor.Float32, 6).Init("s", qoF32(0.5)).Init("z", qoZP(dt, 3)).
			Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}).OutputNoShape("y", dt)
		out = append(out, qoCase{op: "QuantizeLinear", name: "special/" + dt.String(), model: m, inputs: map[string]*tensor.Tensor{"x": x}})
	}
	return out
}

func qoDequantizeCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8, tensor.Int32} {
		for _, perAxis := range []bool{false, true} {
			shape := []int{3, 4, 5}
			var x *tensor.Tensor
			if dt == tensor.Int32 {
				v := make([]int32, 60)
				for i := range v {
					v[i] = int32(r.IntN(200001)) - 100000
				}
				x = tensor.FromSlice(shape, v)
			} else {
				x = qoReshape(qoRand(r, dt, 60, 0, 0), shape...)
			}
			var sT, zT *tensor.Tensor
			attrs := []*onnx.AttributeProto{}
			if perAxis {
				sT = qoF32s(0.013, 0.5, 0.0071, 1.25)
				attrs = append(attrs, onnxbuild.AttrInt("axis", 1))
				if dt != tensor.Int32 {
					zT = qoTensor(dt, []int{4}, []int32{qoRandZP(r, dt), qoRandZP(r, dt), qoRandZP(r, dt), qoRandZP(r, dt)})
				}
			} else {
				sT = qoF32(0.0173)
				if dt != tensor.Int32 {
					zT = qoZP(dt, qoRandZP(r, dt))
				}
			}
			m := qoModel(13, false).Input("x", dt, shape...).Init("s", sT)
			ins := []string{"x", "s"}
			if zT != nil {
				m.Init("z", zT)
				ins = append(ins, "z")
			}
			m.Node("DequantizeLinear", ins, []string{"y"}, attrs...).OutputNoShape("y", tensor.Float32)
			out = append(out, qoCase{op: "DequantizeLinear", name: fmt.Sprintf("%v/perAxis=%v", dt, perAxis), model: m,
				inputs: map[string]*tensor.Tensor{"x": x}})
		}
	}
	return out
}

func qoDynamicQuantizeCases(r *rand.Rand) []qoCase {
	var out []qoCase
	inputs := map[string][]float32{
		"mixed":     qoFloats(r, 300, 4, 0),
		"positive":  qoFloats(r, 77, 2, 0),
		"negative":  qoFloats(r, 64, 9, 0),
		"zeros":     make([]float32, 10),
		"ties":      qoFloats(r, 256, 2, 1.0/64),
		"tiny":      qoFloats(r, 50, 1e-6, 0),
		"one-value": {0.75},
	}
	for i, v := range inputs["positive"] {
		inputs["positive"][i] = float32(math.Abs(float64(v))) + 0.1
	}
	for i, v := range inputs["negative"] {
		inputs["negative"][i] = -float32(math.Abs(float64(v)))
	}
	for name, v := range inputs {
		m := qoModel(11, false).Input("x", tensor.Float32, len(v)).
			Node("DynamicQuantizeLinear", []string{"x"}, []string{"y", "ys", "yz"}).
			OutputNoShape("y", tensor.Uint8).OutputNoShape("ys", tensor.Float32).OutputNoShape("yz", tensor.Uint8)
		out = append(out, qoCase{op: "DynamicQuantizeLinear", name: name, model: m,
			inputs: map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{len(v)}, v)}})
	}
	return out
}

// ---- MatMulInteger, ConvInteger ----

func qoMatMulIntegerCases(r *rand.Rand) []qoCase {
	var out []qoCase
	shapes := []struct{ a, b []int }{
		{[]int{4, 7}, []int{7, 5}},
		{[]int{3, 9, 33}, []int{33, 17}},
		{[]int{2, 5, 16}, []int{2, 16, 6}},
		{[]int{1, 300}, []int{300, 40}},
	}
	for _, at := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
		for _, bt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			for si, sh := range shapes {
				for _, perCol := range []bool{false, true} {
					if perCol && len(sh.b) != 2 {
						continue
					}
					za, zb := qoRandZP(r, at), qoRandZP(r, bt)
					a := qoReshape(qoRand(r, at, qoProd(sh.a), 0, 0), sh.a...)
					// Raw int8 values within 7 bits when A is uint8 (see qoWSpread).
					b := qoReshape(qoRand(r, bt, qoProd(sh.b), 0, qoWSpread(at, bt, false)), sh.b...)
					zbT := qoZP(bt, zb)
					if perCol {
						n := sh.b[len(sh.b)-1]
						v := make([]int32, n)
						for i := range v {
							v[i] = qoRandZP(r, bt)
						}
						zbT = qoTensor(bt, []int{n}, v)
					}
					m := qoModel(10, false).Input("a", at, sh.a...).Init("b", b).
						Init("za", qoZP(at, za)).Init("zb", zbT).
						Node("MatMulInteger", []string{"a", "b", "za", "zb"}, []string{"y"}).OutputNoShape("y", tensor.Int32)
					out = append(out, qoCase{op: "MatMulInteger", name: fmt.Sprintf("%s%s/shape%d/perCol=%v", qoShort(at), qoShort(bt), si, perCol),
						model: m, inputs: map[string]*tensor.Tensor{"a": a}, ortMayRefuse: at == tensor.Int8})
				}
			}
		}
	}
	// uint8 x int8 over the full int8 range, checked against the exact
	// product: ONNX Runtime's AVX2 kernel (vpmaddubsw) saturates the sum of
	// two adjacent uint8*int8 products to int16, so it may differ.
	a := qoReshape(qoRand(r, tensor.Uint8, 6*64, 0, 0), 6, 64)
	b := qoReshape(qoRand(r, tensor.Int8, 64*10, 0, 0), 64, 10)
	za, zb := int32(131), int32(-3)
	m := qoModel(10, false).Input("a", tensor.Uint8, 6, 64).Init("b", b).
		Init("za", qoZP(tensor.Uint8, za)).Init("zb", qoZP(tensor.Int8, zb)).
		Node("MatMulInteger", []string{"a", "b", "za", "zb"}, []string{"y"}).OutputNoShape("y", tensor.Int32)
	out = append(out, qoCase{op: "MatMulInteger", name: "u8s8/full-range-int8", model: m, inputs: map[string]*tensor.Tensor{"a": a},
		exact: func() map[string]*tensor.Tensor {
			av, bv := a.Data.([]uint8), b.Data.([]int8)
			y := make([]int32, 6*10)
			for i := 0; i < 6; i++ {
				for j := 0; j < 10; j++ {
					var s int64
					for p := 0; p < 64; p++ {
						s += (int64(av[i*64+p]) - int64(za)) * (int64(bv[p*10+j]) - int64(zb))
					}
					y[i*10+j] = int32(s)
				}
			}
			return map[string]*tensor.Tensor{"y": tensor.FromSlice([]int{6, 10}, y)}
		}})
	return out
}

func qoProd(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

type qoConvGeom struct {
	n, c, h, w, m, kh, kw, group int
	pads, strides, dil           []int64
}

var qoConvGeoms = []qoConvGeom{
	{1, 3, 9, 9, 4, 3, 3, 1, []int64{1, 1, 1, 1}, nil, nil},
	{2, 4, 8, 7, 6, 3, 3, 2, []int64{0, 1, 2, 1}, []int64{2, 1}, nil},
	{1, 8, 10, 10, 8, 3, 3, 8, []int64{1, 1, 1, 1}, []int64{1, 1}, nil}, // depthwise
	{1, 16, 6, 6, 12, 1, 1, 1, nil, nil, nil},                           // pointwise
	{1, 5, 11, 9, 3, 2, 3, 1, []int64{1, 0, 0, 1}, []int64{2, 2}, []int64{2, 1}},
	{1, 64, 7, 7, 32, 3, 3, 1, []int64{1, 1, 1, 1}, nil, nil}, // K = 576
}

func qoConvAttrs(g qoConvGeom) []*onnx.AttributeProto {
	attrs := []*onnx.AttributeProto{onnxbuild.AttrInt("group", int64(g.group))}
	if g.pads != nil {
		attrs = append(attrs, onnxbuild.AttrInts("pads", g.pads...))
	}
	if g.strides != nil {
		attrs = append(attrs, onnxbuild.AttrInts("strides", g.strides...))
	}
	if g.dil != nil {
		attrs = append(attrs, onnxbuild.AttrInts("dilations", g.dil...))
	}
	return attrs
}

func qoConvIntegerCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for gi, g := range qoConvGeoms {
		for _, wt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			xt := tensor.Uint8
			xz, wz := qoRandZP(r, xt), qoRandZP(r, wt)
			x := qoReshape(qoRand(r, xt, g.n*g.c*g.h*g.w, 0, 0), g.n, g.c, g.h, g.w)
			w := qoReshape(qoRand(r, wt, g.m*g.c/g.group*g.kh*g.kw, 0, 0), g.m, g.c/g.group, g.kh, g.kw)
			m := qoModel(10, false).Input("x", xt, x.Shape...).Init("w", w).
				Init("xz", qoZP(xt, xz)).Init("wz", qoZP(wt, wz)).
				Node("ConvInteger", []string{"x", "w", "xz", "wz"}, []string{"y"}, qoConvAttrs(g)...).OutputNoShape("y", tensor.Int32)
			out = append(out, qoCase{op: "ConvInteger", name: fmt.Sprintf("u8%s/geom%d", qoShort(wt), gi), model: m,
				inputs: map[string]*tensor.Tensor{"x": x}, ortMayRefuse: wt == tensor.Int8})
		}
	}
	return out
}

// ---- QLinearConv, QLinearMatMul ----

// qoWSpread returns how far weights may lie from their zero point: int8
// weights with uint8 activations stay within 7 bits, [-63, 63] around a
// zero point of 0, because ONNX Runtime's AVX2 uint8 x int8 kernels
// (vpmaddubsw) saturate the sum of two adjacent products to int16 and are
// then not exact; tie-prone cases use narrow data.
func qoWSpread(xt, wt tensor.DataType, ties bool) int32 {
	if ties {
		return 6
	}
	if xt == tensor.Uint8 && wt == tensor.Int8 {
		return 63
	}
	return 0
}

func qoQLinearConvCases(r *rand.Rand) []qoCase {
	var out []qoCase
	pairs := [][2]tensor.DataType{{tensor.Uint8, tensor.Uint8}, {tensor.Uint8, tensor.Int8}, {tensor.Int8, tensor.Int8}}
	for gi, g := range qoConvGeoms {
		for _, p := range pairs {
			for _, perCh := range []bool{false, true} {
				for _, ties := range []bool{false, true} {
					xt, wt := p[0], p[1]
					k := g.c / g.group * g.kh * g.kw
					xz := qoRandZP(r, xt)
					wz := int32(0)
					if wt == tensor.Uint8 {
						wz = qoRandZP(r, wt)
					}
					xSpread := int32(0)
					if ties {
						xSpread = 6
					}
					x := qoReshape(qoRand(r, xt, g.n*g.c*g.h*g.w, xz, xSpread), g.n, g.c, g.h, g.w)
					w := qoReshape(qoRand(r, wt, g.m*k, wz, qoWSpread(xt, wt, ties)), g.m, g.c/g.group, g.kh, g.kw)
					xs := float32(0.0213)
					ws := []float32{0.0071}
					if perCh {
						ws = make([]float32, g.m)
						for i := range ws {
							ws[i] = 0.004 + 0.006*r.Float32()
						}
					}
					// y_scale so that outputs spread over the 8-bit range.
					spread := float32(math.Sqrt(float64(k))) * 70 * 35
					if xt == tensor.Uint8 && wt == tensor.Int8 {
						spread /= 2
					}
					ys := xs * ws[0] * spread / 50
					yz := qoRandZP(r, xt)
					if ties {
						xs, ys = 0.5, 1
						for i := range ws {
							ws[i] = float32(math.Ldexp(1, -1-i%3))
						}
					}
					wsT := qoF32s(ws...)
					wzT := qoZP(wt, wz)
					if perCh {
						v := make([]int32, g.m)
						for i := range v {
							v[i] = wz // ONNX Runtime requires equal per-channel zero points
						}
						wzT = qoTensor(wt, []int{g.m}, v)
					}
					bias := make([]int32, g.m)
					for i := range bias {
						bias[i] = int32(r.IntN(4001)) - 2000
					}
					m := qoModel(10, false).Input("x", xt, x.Shape...).
						Init("xs", qoF32(xs)).Init("xz", qoZP(xt, xz)).Init("w", w).Init("ws", wsT).Init("wz", wzT).
						Init("ys", qoF32(ys)).Init("yz", qoZP(xt, yz)).Init("b", tensor.FromSlice([]int{g.m}, bias)).
						Node("QLinearConv", []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, []string{"y"}, qoConvAttrs(g)...).
						OutputNoShape("y", xt)
					out = append(out, qoCase{op: "QLinearConv", name: fmt.Sprintf("%s%s/geom%d/perCh=%v/ties=%v", qoShort(xt), qoShort(wt), gi, perCh, ties),
						model: m, inputs: map[string]*tensor.Tensor{"x": x}})
				}
			}
		}
	}
	// The channels_last variant of the com.microsoft domain.
	g := qoConvGeoms[0]
	x := qoReshape(qoRand(r, tensor.Uint8, g.n*g.c*g.h*g.w, 0, 0), g.n, g.h, g.w, g.c)
	w := qoReshape(qoRand(r, tensor.Int8, g.m*g.c*g.kh*g.kw, 0, 63), g.m, g.c, g.kh, g.kw)
	m := qoModel(13, true).Input("x", tensor.Uint8, x.Shape...).
		Init("xs", qoF32(0.02)).Init("xz", qoZP(tensor.Uint8, 120)).Init("w", w).Init("ws", qoF32(0.01)).Init("wz", qoZP(tensor.Int8, 0)).
		Init("ys", qoF32(0.3)).Init("yz", qoZP(tensor.Uint8, 130)).
		NodeIn(qoMS, "QLinearConv", []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, []string{"y"},
			append(qoConvAttrs(g), onnxbuild.AttrInt("channels_last", 1))...).
		OutputNoShape("y", tensor.Uint8)
	out = append(out, qoCase{op: "QLinearConv", name: "com.microsoft/channels_last", model: m, inputs: map[string]*tensor.Tensor{"x": x}})
	return out
}

func qoQLinearMatMulCases(r *rand.Rand) []qoCase {
	var out []qoCase
	shapes := []struct{ a, b []int }{
		{[]int{5, 12}, []int{12, 7}},
		{[]int{2, 6, 40}, []int{40, 9}},
		{[]int{3, 4, 24}, []int{3, 24, 5}},
		{[]int{17, 300}, []int{300, 33}},
	}
	pairs := [][2]tensor.DataType{{tensor.Uint8, tensor.Uint8}, {tensor.Uint8, tensor.Int8}, {tensor.Int8, tensor.Int8}}
	for _, opset := range []int64{10, 21} {
		for si, sh := range shapes {
			for _, p := range pairs {
				for _, perCol := range []bool{false, true} {
					for _, ties := range []bool{false, true} {
						if perCol && len(sh.b) != 2 {
							continue
						}
						at, bt := p[0], p[1]
						k := sh.a[len(sh.a)-1]
						n := sh.b[len(sh.b)-1]
						za := qoRandZP(r, at)
						zb := int32(0)
						if bt == tensor.Uint8 {
							zb = qoRandZP(r, bt)
						}
						aSpread := int32(0)
						if ties {
							aSpread = 6
						}
						a := qoReshape(qoRand(r, at, qoProd(sh.a), za, aSpread), sh.a...)
						b := qoReshape(qoRand(r, bt, qoProd(sh.b), zb, qoWSpread(at, bt, ties)), sh.b...)
						as := float32(0.031)
						bs := []float32{0.0093}
						if perCol {
							bs = make([]float32, n)
							for i := range bs {
								bs[i] = 0.005 + 0.01*r.Float32()
							}
						}
						ys := as * bs[0] * float32(math.Sqrt(float64(k))) * 70 * 35 / 50
						if ties {
							as, ys = 0.25, 0.5
							for i := range bs {
								bs[i] = float32(math.Ldexp(1, -i%3))
							}
						}
						yz := qoRandZP(r, at)
						bsT, zbT := qoF32s(bs...), qoTensor(bt, []int{1}, []int32{zb})
						if perCol {
							v := make([]int32, n)
							for i := range v {
								v[i] = zb
							}
							zbT = qoTensor(bt, []int{n}, v)
						}
						m := qoModel(opset, false).Input("a", at, sh.a...).
							Init("as", qoF32(as)).Init("az", qoZP(at, za)).Init("b", b).Init("bs", bsT).Init("bz", zbT).
							Init("ys", qoF32(ys)).Init("yz", qoZP(at, yz)).
							Node("QLinearMatMul", []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, []string{"y"}).
							OutputNoShape("y", at)
						out = append(out, qoCase{op: "QLinearMatMul", name: fmt.Sprintf("opset%d/%s%s/shape%d/perCol=%v/ties=%v", opset, qoShort(at), qoShort(bt), si, perCol, ties),
							model: m, inputs: map[string]*tensor.Tensor{"a": a}})
					}
				}
			}
		}
	}
	return out
}

// ---- com.microsoft elementwise, pooling, concat, softmax ----

func qoBinaryCases(r *rand.Rand) []qoCase {
	var out []qoCase
	shapes := []struct{ a, b []int }{
		{[]int{2, 3, 37}, []int{2, 3, 37}},
		{[]int{4, 50}, []int{50}},
		{[]int{4, 50}, []int{4, 1}},
		{[]int{1}, []int{3, 41}},
		{[]int{3, 41}, []int{}},
		{[]int{2, 1, 9}, []int{1, 5, 1}},
	}
	for _, op := range []string{"QLinearAdd", "QLinearMul"} {
		for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			for si, sh := range shapes {
				for _, ties := range []bool{false, true} {
					za, zb, zc := qoRandZP(r, dt), qoRandZP(r, dt), qoRandZP(r, dt)
					sa, sb, sc := float32(0.0197), float32(0.0311), float32(0.0423)
					if op == "QLinearMul" {
						sc = 0.0071
					}
					if ties {
						sa, sb, sc = 0.25, 0.75, 0.5
						if op == "QLinearMul" {
							sa, sb, sc = 0.5, 0.25, 2
						}
					}
					a := qoReshape(qoRand(r, dt, qoProd(sh.a), 0, 0), sh.a...)
					b := qoRand(r, dt, max(qoProd(sh.b), 1), 0, 0)
					b = qoReshape(b, sh.b...)
					m := qoModel(13, true).Input("a", dt, sh.a...).Input("b", dt, sh.b...).
						Init("sa", qoF32(sa)).Init("za", qoZP(dt, za)).Init("sb", qoF32(sb)).Init("zb", qoZP(dt, zb)).
						Init("sc", qoF32(sc)).Init("zc", qoZP(dt, zc)).
						NodeIn(qoMS, op, []string{"a", "sa", "za", "b", "sb", "zb", "sc", "zc"}, []string{"y"}).
						OutputNoShape("y", dt)
					out = append(out, qoCase{op: op, name: fmt.Sprintf("%v/shape%d/ties=%v", dt, si, ties), model: m,
						inputs: map[string]*tensor.Tensor{"a": a, "b": b}})
				}
			}
		}
	}
	return out
}

func qoConcatCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
		for _, axis := range []int64{0, 1, -1} {
			shapes := [][]int{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}
			for i := range shapes {
				ax := int(axis)
				if ax < 0 {
					ax += 3
				}
				shapes[i] = append([]int(nil), shapes[i]...)
				shapes[i][ax] += i
			}
			m := qoModel(13, true).Init("ys", qoF32(0.05)).Init("yz", qoZP(dt, qoRandZP(r, dt)))
			names := []string{"ys", "yz"}
			inputs := map[string]*tensor.Tensor{}
			scales := []float32{0.05, 0.0731, 0.125}
			for i, s := range shapes {
				x := fmt.Sprintf("x%d", i)
				m.Input(x, dt, s...).Init(x+"s", qoF32(scales[i])).Init(x+"z", qoZP(dt, qoRandZP(r, dt)))
				names = append(names, x, x+"s", x+"z")
				inputs[x] = qoReshape(qoRand(r, dt, qoProd(s), 0, 0), s...)
			}
			m.NodeIn(qoMS, "QLinearConcat", names, []string{"y"}, onnxbuild.AttrInt("axis", axis)).OutputNoShape("y", dt)
			out = append(out, qoCase{op: "QLinearConcat", name: fmt.Sprintf("%v/axis%d", dt, axis), model: m, inputs: inputs})
		}
	}
	return out
}

func qoGlobalAvgCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
		for _, cl := range []int64{0, 1} {
			for si, shape := range [][]int{{2, 5, 7, 7}, {1, 16, 3, 4}, {3, 8, 13}} {
				for _, ties := range []bool{false, true} {
					xs, ys := float32(0.0371), float32(0.0213)
					if ties {
						xs, ys = 0.5, 0.25
						if len(shape) == 3 {
							shape = []int{3, 8, 16}
						} else {
							shape = []int{shape[0], shape[1], 4, 4}
						}
					}
					x := qoReshape(qoRand(r, dt, qoProd(shape), 0, 0), shape...)
					m := qoModel(13, true).Input("x", dt, shape...).
						Init("xs", qoF32(xs)).Init("xz", qoZP(dt, qoRandZP(r, dt))).Init("ys", qoF32(ys)).Init("yz", qoZP(dt, qoRandZP(r, dt))).
						NodeIn(qoMS, "QLinearGlobalAveragePool", []string{"x", "xs", "xz", "ys", "yz"}, []string{"y"}, onnxbuild.AttrInt("channels_last", cl)).
						OutputNoShape("y", dt)
					out = append(out, qoCase{op: "QLinearGlobalAveragePool", name: fmt.Sprintf("%v/channels_last=%d/shape%d/ties=%v", dt, cl, si, ties),
						model: m, inputs: map[string]*tensor.Tensor{"x": x}})
				}
			}
		}
	}
	return out
}

func qoAvgPoolCases(r *rand.Rand) []qoCase {
	var out []qoCase
	type pool struct {
		shape       []int
		kernel      []int64
		pads        []int64
		strides     []int64
		includePad  int64
		ceil        int64
		channelLast int64
	}
	pools := []pool{
		{[]int{1, 3, 8, 8}, []int64{2, 2}, nil, []int64{2, 2}, 0, 0, 0},
		{[]int{2, 4, 9, 7}, []int64{3, 3}, []int64{1, 1, 1, 1}, []int64{1, 1}, 0, 0, 0},
		{[]int{2, 4, 9, 7}, []int64{3, 3}, []int64{1, 1, 1, 1}, []int64{2, 2}, 1, 0, 0},
		{[]int{1, 5, 10}, []int64{4}, []int64{2, 1}, []int64{3}, 0, 0, 0},
		{[]int{1, 6, 7, 7}, []int64{7, 7}, nil, nil, 0, 0, 0}, // global
		{[]int{1, 3, 7, 6}, []int64{3, 2}, nil, []int64{2, 2}, 0, 1, 0},
		{[]int{1, 8, 6, 5, 3}, []int64{2, 3}, []int64{1, 0, 0, 1}, []int64{1, 2}, 0, 0, 1}, // NHWC
	}
	for pi, p := range pools {
		for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			for _, ties := range []bool{false, true} {
				xs, ys := float32(0.0371), float32(0.0289)
				if ties {
					xs, ys = 0.5, 1
				}
				attrs := []*onnx.AttributeProto{onnxbuild.AttrInts("kernel_shape", p.kernel...),
					onnxbuild.AttrInt("count_include_pad", p.includePad), onnxbuild.AttrInt("channels_last", p.channelLast)}
				if p.pads != nil {
					attrs = append(attrs, onnxbuild.AttrInts("pads", p.pads...))
				}
				if p.strides != nil {
					attrs = append(attrs, onnxbuild.AttrInts("strides", p.strides...))
				}
				if p.ceil != 0 {
					attrs = append(attrs, onnxbuild.AttrInt("ceil_mode", 1))
				}
				shape := p.shape
				if p.channelLast != 0 {
					shape = []int{1, 6, 5, 8}
				}
				x := qoReshape(qoRand(r, dt, qoProd(shape), 0, 0), shape...)
				m := qoModel(13, true).Input("x", dt, shape...).
					Init("xs", qoF32(xs)).Init("xz", qoZP(dt, qoRandZP(r, dt))).Init("ys", qoF32(ys)).Init("yz", qoZP(dt, qoRandZP(r, dt))).
					NodeIn(qoMS, "QLinearAveragePool", []string{"x", "xs", "xz", "ys", "yz"}, []string{"y"}, attrs...).
					OutputNoShape("y", dt)
				out = append(out, qoCase{op: "QLinearAveragePool", name: fmt.Sprintf("pool%d/%v/ties=%v", pi, dt, ties),
					model: m, inputs: map[string]*tensor.Tensor{"x": x}})
			}
		}
	}
	return out
}

func qoLookupCases(r *rand.Rand) []qoCase {
	var out []qoCase
	params := []struct{ xs, ys float32 }{{0.05, 1.0 / 256}, {0.1, 0.0039}, {0.5, 0.25}, {0.0213, 0.0177}}
	for _, op := range []string{"QLinearSigmoid", "QLinearLeakyRelu"} {
		for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			for pi, p := range params {
				// Every 8-bit value, so the whole table is compared.
				v := make([]int32, 256)
				for i := range v {
					v[i] = int32(i)
					if dt == tensor.Int8 {
						v[i] -= 128
					}
				}
				x := qoTensor(dt, []int{4, 64}, v)
				yz := qoRandZP(r, dt)
				if op == "QLinearSigmoid" {
					yz = 0
					if dt == tensor.Int8 {
						yz = -128
					}
				}
				var attrs []*onnx.AttributeProto
				if op == "QLinearLeakyRelu" {
					attrs = append(attrs, onnxbuild.AttrFloat("alpha", []float32{0.1, 0.01, 0.25, 0.3}[pi]))
				}
				m := qoModel(13, true).Input("x", dt, 4, 64).
					Init("xs", qoF32(p.xs)).Init("xz", qoZP(dt, qoRandZP(r, dt))).Init("ys", qoF32(p.ys)).Init("yz", qoZP(dt, yz)).
					NodeIn(qoMS, op, []string{"x", "xs", "xz", "ys", "yz"}, []string{"y"}, attrs...).
					OutputNoShape("y", dt)
				out = append(out, qoCase{op: op, name: fmt.Sprintf("%v/params%d", dt, pi), model: m, inputs: map[string]*tensor.Tensor{"x": x}})
			}
		}
	}
	return out
}

func qoSoftmaxCases(r *rand.Rand) []qoCase {
	var out []qoCase
	for _, dt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
		for _, c := range []struct {
			opset, axis int64
			shape       []int
		}{{13, -1, []int{4, 10}}, {13, 1, []int{2, 7, 5}}, {12, 1, []int{3, 2, 6}}, {13, -1, []int{2, 300}}} {
			for _, xs := range []float32{0.1, 0.0392, 0.25} {
				yz := int32(0)
				if dt == tensor.Int8 {
					yz = -128
				}
				x := qoReshape(qoRand(r, dt, qoProd(c.shape), 0, 0), c.shape...)
				m := qoModel(13, true).Input("x", dt, c.shape...).
					Init("xs", qoF32(xs)).Init("xz", qoZP(dt, qoRandZP(r, dt))).Init("ys", qoF32(1.0/256)).Init("yz", qoZP(dt, yz)).
					NodeIn(qoMS, "QLinearSoftmax", []string{"x", "xs", "xz", "ys", "yz"}, []string{"y"},
						onnxbuild.AttrInt("opset", c.opset), onnxbuild.AttrInt("axis", c.axis)).
					OutputNoShape("y", dt)
				out = append(out, qoCase{op: "QLinearSoftmax", name: fmt.Sprintf("%v/opset%d/axis%d/%v/xs=%g", dt, c.opset, c.axis, c.shape, xs),
					model: m, inputs: map[string]*tensor.Tensor{"x": x}})
			}
		}
		// One dominant value per row: its probability rounds to 1, i.e.
		// 256 steps above the zero point, which must saturate.
		lo, hi := int32(0), int32(255)
		yz := int32(0)
		if dt == tensor.Int8 {
			lo, hi, yz = -128, 127, -128
		}
		x := qoTensor(dt, []int{3, 3}, []int32{hi, lo, lo, lo, hi, lo, lo + 1, lo, hi})
		m := qoModel(13, true).Input("x", dt, 3, 3).
			Init("xs", qoF32(0.25)).Init("xz", qoZP(dt, 0)).Init("ys", qoF32(1.0/256)).Init("yz", qoZP(dt, yz)).
			NodeIn(qoMS, "QLinearSoftmax", []string{"x", "xs", "xz", "ys", "yz"}, []string{"y"}, onnxbuild.AttrInt("opset", 13)).
			OutputNoShape("y", dt)
		out = append(out, qoCase{op: "QLinearSoftmax", name: fmt.Sprintf("%v/dominant", dt), model: m, inputs: map[string]*tensor.Tensor{"x": x}})
	}
	return out
}

// ---- QGemm, DynamicQuantizeMatMul, MatMulIntegerToFloat ----

func qoQGemmCases(r *rand.Rand) []qoCase {
	var out []qoCase
	pairs := [][2]tensor.DataType{{tensor.Uint8, tensor.Uint8}, {tensor.Uint8, tensor.Int8}, {tensor.Int8, tensor.Int8}}
	for _, p := range pairs {
		for _, transB := range []int64{0, 1} {
			for _, quantOut := range []bool{false, true} {
				for _, perCol := range []bool{false, true} {
					at, bt := p[0], p[1]
					mm, kk, nn := 7, 45, 11
					za := qoRandZP(r, at)
					zb := int32(0)
					if bt == tensor.Uint8 {
						zb = qoRandZP(r, bt)
					}
					a := qoReshape(qoRand(r, at, mm*kk, 0, 0), mm, kk)
					bShape := []int{kk, nn}
					if transB != 0 {
						bShape = []int{nn, kk}
					}
					b := qoReshape(qoRand(r, bt, kk*nn, zb, qoWSpread(at, bt, false)), bShape...)
					bs := []float32{0.0077}
					zbv := []int32{zb}
					if perCol {
						bs, zbv = make([]float32, nn), make([]int32, nn)
						for i := range bs {
							bs[i] = 0.004 + 0.008*r.Float32()
							zbv[i] = zb
						}
					}
					c := make([]int32, nn)
					for i := range c {
						c[i] = int32(r.IntN(20001)) - 10000
					}
					m := qoModel(13, true).Input("a", at, mm, kk).
						Init("as", qoF32(0.027)).Init("az", qoZP(at, za)).Init("b", b).
						Init("bs", tensor.FromSlice([]int{len(bs)}, bs)).Init("bz", qoTensor(bt, []int{len(zbv)}, zbv)).
						Init("c", tensor.FromSlice([]int{nn}, c))
					ins := []string{"a", "as", "az", "b", "bs", "bz", "c"}
					outT := tensor.Float32
					if quantOut {
						m.Init("ys", qoF32(0.031)).Init("yz", qoZP(at, qoRandZP(r, at)))
						ins = append(ins, "ys", "yz")
						outT = at
					}
					m.NodeIn(qoMS, "QGemm", ins, []string{"y"}, onnxbuild.AttrInt("transB", transB), onnxbuild.AttrFloat("alpha", 0.75)).
						OutputNoShape("y", outT)
					out = append(out, qoCase{op: "QGemm", name: fmt.Sprintf("%s%s/transB=%d/quantOut=%v/perCol=%v", qoShort(at), qoShort(bt), transB, quantOut, perCol),
						model: m, inputs: map[string]*tensor.Tensor{"a": a}})
				}
			}
		}
	}
	return out
}

func qoMatMulToFloatCases(r *rand.Rand) []qoCase {
	var out []qoCase
	shapes := []struct{ a, b []int }{{[]int{6, 20}, []int{20, 9}}, {[]int{2, 3, 64}, []int{64, 17}}}
	for si, sh := range shapes {
		for _, bt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			for _, perCol := range []bool{false, true} {
				for _, withBias := range []bool{false, true} {
					k, n := sh.b[0], sh.b[1]
					zb := int32(0)
					if bt == tensor.Uint8 {
						zb = qoRandZP(r, bt)
					}
					b := qoReshape(qoRand(r, bt, k*n, zb, qoWSpread(tensor.Uint8, bt, false)), sh.b...)
					bs := []float32{0.0123}
					zbv := []int32{zb}
					if perCol {
						bs, zbv = make([]float32, n), make([]int32, n)
						for i := range bs {
							bs[i] = 0.005 + 0.01*r.Float32()
							zbv[i] = zb
						}
					}
					bias := tensor.FromSlice([]int{n}, qoFloats(r, n, 2, 0))
					// DynamicQuantizeMatMul
					m := qoModel(13, true).Input("a", tensor.Float32, sh.a...).Init("b", b).
						Init("bs", tensor.FromSlice([]int{len(bs)}, bs)).Init("bz", qoTensor(bt, []int{len(zbv)}, zbv))
					ins := []string{"a", "b", "bs", "bz"}
					if withBias {
						m.Init("bias", bias)
						ins = append(ins, "bias")
					}
					m.NodeIn(qoMS, "DynamicQuantizeMatMul", ins, []string{"y"}).OutputNoShape("y", tensor.Float32)
					a := tensor.FromSlice(sh.a, qoFloats(r, qoProd(sh.a), 3, 0))
					out = append(out, qoCase{op: "DynamicQuantizeMatMul", name: fmt.Sprintf("shape%d/%v/perCol=%v/bias=%v", si, bt, perCol, withBias),
						model: m, inputs: map[string]*tensor.Tensor{"a": a}})
					// MatMulIntegerToFloat
					az := qoRandZP(r, tensor.Uint8)
					aq := qoReshape(qoRand(r, tensor.Uint8, qoProd(sh.a), 0, 0), sh.a...)
					m2 := qoModel(13, true).Input("a", tensor.Uint8, sh.a...).Init("b", b).
						Init("as", qoF32(0.0271)).Init("bs", tensor.FromSlice([]int{len(bs)}, bs)).
						Init("az", qoZP(tensor.Uint8, az)).Init("bz", qoTensor(bt, []int{len(zbv)}, zbv))
					ins2 := []string{"a", "b", "as", "bs", "az", "bz"}
					if withBias {
						m2.Init("bias", bias)
						ins2 = append(ins2, "bias")
					}
					m2.NodeIn(qoMS, "MatMulIntegerToFloat", ins2, []string{"y"}).OutputNoShape("y", tensor.Float32)
					out = append(out, qoCase{op: "MatMulIntegerToFloat", name: fmt.Sprintf("shape%d/%v/perCol=%v/bias=%v", si, bt, perCol, withBias),
						model: m2, inputs: map[string]*tensor.Tensor{"a": aq}})
				}
			}
		}
	}
	return out
}
