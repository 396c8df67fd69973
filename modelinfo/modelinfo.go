// Package modelinfo summarizes an ONNX model for people: its versions and
// operator sets, inputs and outputs, operator histogram, parameters and
// weight bytes, quantization state and external data files.
package modelinfo

import (
	"sort"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Summary is what `onnxquant inspect` prints. Its JSON form is stable.
type Summary struct {
	Path            string            `json:"path,omitempty"`
	FileBytes       int64             `json:"file_bytes,omitempty"`
	IRVersion       int64             `json:"ir_version"`
	Opsets          []Opset           `json:"opsets"`
	Producer        string            `json:"producer,omitempty"`
	ProducerVersion string            `json:"producer_version,omitempty"`
	GraphName       string            `json:"graph_name,omitempty"`
	Inputs          []Value           `json:"inputs"`
	Outputs         []Value           `json:"outputs"`
	Nodes           int               `json:"nodes"`
	SubgraphNodes   int               `json:"subgraph_nodes"`
	OpTypes         []OpCount         `json:"op_types"`
	Parameters      int64             `json:"parameters"`
	WeightBytes     int64             `json:"weight_bytes"`
	WeightsByType   []WeightsOfType   `json:"weights_by_type"`
	Quantized       bool              `json:"quantized"`
	QuantizedOps    int               `json:"quantized_ops"`
	ExternalData    []ExternalFile    `json:"external_data"`
	Functions       int               `json:"functions,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// Opset is one imported operator set.
type Opset struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// Value is a graph input or output.
type Value struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Shape lists the dimensions: a number, a symbolic name, or "?".
	Shape []string `json:"shape"`
	// RankKnown is false when the model gives no shape at all.
	RankKnown bool `json:"rank_known"`
}

// OpCount is how many nodes use one operator.
type OpCount struct {
	Domain string `json:"domain,omitempty"`
	OpType string `json:"op_type"`
	Count  int    `json:"count"`
}

// WeightsOfType totals the constant tensors of one element type.
type WeightsOfType struct {
	Type     string `json:"type"`
	Tensors  int    `json:"tensors"`
	Elements int64  `json:"elements"`
	Bytes    int64  `json:"bytes"`
}

// ExternalFile is a file holding external tensor data.
type ExternalFile struct {
	Location string `json:"location"`
	Tensors  int    `json:"tensors"`
	Bytes    int64  `json:"bytes"`
}

// quantizedOps are the operators that compute on or produce quantized data.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true,
	"QLinearConv": true, "QLinearMatMul": true, "ConvInteger": true, "MatMulInteger": true,
	"QGemm": true, "DynamicQuantizeMatMul": true, "MatMulIntegerToFloat": true,
	"QAttention": true, "DynamicQuantizeLSTM": true, "MatMulNBits": true,
}

// IsQuantizedOp reports whether an operator computes on or produces
// quantized (integer-coded) data: QuantizeLinear, QLinearConv, the
// com.microsoft QLinear* family, ConvInteger, ...
func IsQuantizedOp(opType string) bool {
	return quantizedOps[opType] || strings.HasPrefix(opType, "QLinear")
}

// Summarize describes m. It reads only the model's protos: external data need
// not be loaded (tensors still external are counted from their length).
func Summarize(m *onnx.ModelProto) *Summary {
	s := &Summary{
		IRVersion:       m.GetIrVersion(),
		Producer:        m.GetProducerName(),
		ProducerVersion: m.GetProducerVersion(),
		GraphName:       m.GetGraph().GetName(),
		Functions:       len(m.GetFunctions()),
		Opsets:          []Opset{},
		OpTypes:         []OpCount{},
		WeightsByType:   []WeightsOfType{},
		ExternalData:    []ExternalFile{},
	}
	for _, o := range m.GetOpsetImport() {
		d := o.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		s.Opsets = append(s.Opsets, Opset{Domain: d, Version: o.GetVersion()})
	}
	for _, p := range m.GetMetadataProps() {
		if s.Metadata == nil {
			s.Metadata = map[string]string{}
		}
		s.Metadata[p.GetKey()] = p.GetValue()
	}
	g := m.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	s.Inputs = []Value{}
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue // an initializer listed as an input (IR < 4)
		}
		s.Inputs = append(s.Inputs, describeValue(vi))
	}
	s.Outputs = []Value{}
	for _, vi := range g.GetOutput() {
		s.Outputs = append(s.Outputs, describeValue(vi))
	}

	w := &walker{s: s, ops: map[[2]string]int{}, types: map[tensor.DataType]*WeightsOfType{}, ext: map[string]*ExternalFile{}}
	w.graph(g, true)
	for k, n := range w.ops {
		s.OpTypes = append(s.OpTypes, OpCount{Domain: k[0], OpType: k[1], Count: n})
	}
	sort.Slice(s.OpTypes, func(i, j int) bool {
		a, b := s.OpTypes[i], s.OpTypes[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.OpType != b.OpType {
			return a.OpType < b.OpType
		}
		return a.Domain < b.Domain
	})
	for _, wt := range w.types {
		s.WeightsByType = append(s.WeightsByType, *wt)
	}
	sort.Slice(s.WeightsByType, func(i, j int) bool {
		return s.WeightsByType[i].Bytes > s.WeightsByType[j].Bytes || s.WeightsByType[i].Bytes == s.WeightsByType[j].Bytes && s.WeightsByType[i].Type < s.WeightsByType[j].Type
	})
	for _, e := range w.ext {
		s.ExternalData = append(s.ExternalData, *e)
	}
	sort.Slice(s.ExternalData, func(i, j int) bool { return s.ExternalData[i].Location < s.ExternalData[j].Location })
	s.Quantized = s.QuantizedOps > 0
	return s
}

func describeValue(vi *onnx.ValueInfoProto) Value {
	v := Value{Name: vi.GetName(), Type: TypeString(vi.GetType()), Shape: []string{}}
	var shape *onnx.TensorShapeProto
	switch {
	case vi.GetType().GetTensorType() != nil:
		shape = vi.GetType().GetTensorType().GetShape()
	case vi.GetType().GetSparseTensorType() != nil:
		shape = vi.GetType().GetSparseTensorType().GetShape()
	}
	if shape != nil {
		v.RankKnown = true
		for _, d := range shape.GetDim() {
			switch x := d.GetValue().(type) {
			case *onnx.TensorShapeProto_Dimension_DimValue:
				v.Shape = append(v.Shape, strconv.FormatInt(x.DimValue, 10))
			case *onnx.TensorShapeProto_Dimension_DimParam:
				v.Shape = append(v.Shape, x.DimParam)
			default:
				v.Shape = append(v.Shape, "?")
			}
		}
	}
	return v
}

// TypeString renders a value type: "float32", "seq(float32)", "map(int64,float32)", ...
func TypeString(t *onnx.TypeProto) string {
	switch {
	case t == nil:
		return "?"
	case t.GetTensorType() != nil:
		return tensor.DataType(t.GetTensorType().GetElemType()).String()
	case t.GetSparseTensorType() != nil:
		return "sparse(" + tensor.DataType(t.GetSparseTensorType().GetElemType()).String() + ")"
	case t.GetSequenceType() != nil:
		return "seq(" + TypeString(t.GetSequenceType().GetElemType()) + ")"
	case t.GetOptionalType() != nil:
		return "optional(" + TypeString(t.GetOptionalType().GetElemType()) + ")"
	case t.GetMapType() != nil:
		return "map(" + tensor.DataType(t.GetMapType().GetKeyType()).String() + "," + TypeString(t.GetMapType().GetValueType()) + ")"
	case t.GetOpaqueType() != nil:
		return "opaque(" + t.GetOpaqueType().GetDomain() + "." + t.GetOpaqueType().GetName() + ")"
	}
	return "?"
}

type walker struct {
	s     *Summary
	ops   map[[2]string]int
	types map[tensor.DataType]*WeightsOfType
	ext   map[string]*ExternalFile
}

func (w *walker) graph(g *onnx.GraphProto, top bool) {
	for _, t := range g.GetInitializer() {
		w.tensor(t)
	}
	for _, st := range g.GetSparseInitializer() {
		w.tensor(st.GetValues())
		w.tensor(st.GetIndices())
	}
	for _, n := range g.GetNode() {
		if top {
			w.s.Nodes++
		} else {
			w.s.SubgraphNodes++
		}
		d := n.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		w.ops[[2]string{d, n.GetOpType()}]++
		if IsQuantizedOp(n.GetOpType()) {
			w.s.QuantizedOps++
		}
		for _, a := range n.GetAttribute() {
			if n.GetOpType() == "Constant" {
				if a.GetT() != nil {
					w.tensor(a.GetT())
				}
				if a.GetSparseTensor() != nil {
					w.tensor(a.GetSparseTensor().GetValues())
				}
			}
			if a.GetG() != nil {
				w.graph(a.GetG(), false)
			}
			for _, sg := range a.GetGraphs() {
				w.graph(sg, false)
			}
		}
	}
}

func (w *walker) tensor(t *onnx.TensorProto) {
	if t == nil {
		return
	}
	dt := tensor.DataType(t.GetDataType())
	n := int64(1)
	for _, d := range t.GetDims() {
		n *= d
	}
	bytes := int64(dt.StorageBytes(int(n)))
	if dt == tensor.String {
		bytes = 0
		for _, s := range t.GetStringData() {
			bytes += int64(len(s))
		}
	}
	w.s.Parameters += n
	w.s.WeightBytes += bytes
	wt := w.types[dt]
	if wt == nil {
		wt = &WeightsOfType{Type: dt.String()}
		w.types[dt] = wt
	}
	wt.Tensors++
	wt.Elements += n
	wt.Bytes += bytes
	if t.GetDataLocation() == onnx.TensorProto_EXTERNAL {
		var loc string
		for _, kv := range t.GetExternalData() {
			if kv.GetKey() == "location" {
				loc = kv.GetValue()
			}
		}
		e := w.ext[loc]
		if e == nil {
			e = &ExternalFile{Location: loc}
			w.ext[loc] = e
		}
		e.Tensors++
		e.Bytes += bytes
	}
}
