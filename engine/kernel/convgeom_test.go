package kernel

import (
	"fmt"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"google.golang.org/protobuf/proto"
)

func cvtAttrNode(attrs ...*onnx.AttributeProto) *Node {
	p := &onnx.NodeProto{OpType: proto.String("MaxPool"), Input: []string{"x"}, Output: []string{"y"}, Attribute: attrs}
	return NewNode(p, 22, nil, nil)
}

func TestWindowResolve(t *testing.T) {
	tests := []struct {
		name     string
		attrs    []*onnx.AttributeProto
		in       []int
		kernel   []int // from W when kernel_shape is absent
		out      []int
		pb, pe   []int
		errorful bool
	}{
		// floor((5 + 0 + 0 - 3)/1) + 1 = 3
		{"defaults", nil, []int{5}, []int{3}, []int{3}, []int{0}, []int{0}, false},
		// floor((7 + 1 + 2 - 3)/2) + 1 = 4; (6 + 0 + 0 - 5)/3 + 1 = 1 (extent (3-1)*2+1 = 5)
		{"pads strides dilations", []*onnx.AttributeProto{cvtInts("kernel_shape", 3, 3), cvtInts("pads", 1, 0, 2, 0), cvtInts("strides", 2, 3), cvtInts("dilations", 1, 2)},
			[]int{7, 6}, nil, []int{4, 1}, []int{1, 0}, []int{2, 0}, false},
		// ceil mode: (6 - 3)/2 + 1 = 2.5 -> 3; the last window starts at 4 < 6: kept.
		{"ceil", []*onnx.AttributeProto{cvtInts("kernel_shape", 3), cvtInts("strides", 2), cvtInt("ceil_mode", 1)}, []int{6}, nil, []int{3}, []int{0}, []int{0}, false},
		// ceil mode: (2 - 1)/2 + 1 = 1.5 -> 2, but window 2 starts at 2 >= 2 + 0: dropped.
		{"ceil drops window on padding", []*onnx.AttributeProto{cvtInts("kernel_shape", 1), cvtInts("strides", 2), cvtInt("ceil_mode", 1)}, []int{2}, nil, []int{1}, []int{0}, []int{0}, false},
		// VALID: floor((10 - 4)/3) + 1 = 3
		{"valid", []*onnx.AttributeProto{cvtString("auto_pad", "VALID"), cvtInts("kernel_shape", 4), cvtInts("strides", 3), cvtInts("pads", 5, 5)}, []int{10}, nil, []int{3}, []int{0}, []int{0}, false},
		// SAME_UPPER: out ceil(10/3) = 4, total (4-1)*3 + 4 - 10 = 3 -> 1 before, 2 after.
		{"same upper", []*onnx.AttributeProto{cvtString("auto_pad", "SAME_UPPER"), cvtInts("kernel_shape", 4), cvtInts("strides", 3)}, []int{10}, nil, []int{4}, []int{1}, []int{2}, false},
		{"same lower", []*onnx.AttributeProto{cvtString("auto_pad", "SAME_LOWER"), cvtInts("kernel_shape", 4), cvtInts("strides", 3)}, []int{10}, nil, []int{4}, []int{2}, []int{1}, false},
		// SAME with a stride larger than the kernel: total would be negative, clamped to 0.
		{"same no padding needed", []*onnx.AttributeProto{cvtString("auto_pad", "SAME_UPPER"), cvtInts("kernel_shape", 1), cvtInts("strides", 2)}, []int{5}, nil, []int{3}, []int{0}, []int{0}, false},
		{"kernel too large", []*onnx.AttributeProto{cvtInts("kernel_shape", 4)}, []int{3}, nil, nil, nil, nil, true},
		{"rank mismatch", []*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2)}, []int{3}, nil, nil, nil, nil, true},
		{"strides rank mismatch", []*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("strides", 1, 1)}, []int{3}, nil, nil, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadWindowAttrs(cvtAttrNode(tc.attrs...), WindowAttrOptions{Dilations: true, CeilMode: true})
			if err != nil {
				t.Fatal(err)
			}
			w, err := a.Resolve(tc.in, tc.kernel)
			if tc.errorful {
				if err == nil {
					t.Fatalf("no error, got %+v", w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(w.Out, w.PadBegin, w.PadEnd) != fmt.Sprint(tc.out, tc.pb, tc.pe) {
				t.Fatalf("out %v pads %v %v, want %v %v %v", w.Out, w.PadBegin, w.PadEnd, tc.out, tc.pb, tc.pe)
			}
		})
	}
}

func TestReadWindowAttrsErrors(t *testing.T) {
	tests := []struct {
		name  string
		attrs []*onnx.AttributeProto
		opt   WindowAttrOptions
	}{
		{"bad auto_pad", []*onnx.AttributeProto{cvtString("auto_pad", "FULL")}, WindowAttrOptions{}},
		{"zero kernel", []*onnx.AttributeProto{cvtInts("kernel_shape", 0)}, WindowAttrOptions{}},
		{"zero stride", []*onnx.AttributeProto{cvtInts("strides", 0)}, WindowAttrOptions{}},
		{"negative pad", []*onnx.AttributeProto{cvtInts("pads", -1, 0)}, WindowAttrOptions{}},
		{"odd pads", []*onnx.AttributeProto{cvtInts("pads", 1, 1, 1)}, WindowAttrOptions{}},
		{"zero dilation", []*onnx.AttributeProto{cvtInts("dilations", 0)}, WindowAttrOptions{Dilations: true}},
		{"kernel required", nil, WindowAttrOptions{KernelRequired: true}},
		{"wrong attribute type", []*onnx.AttributeProto{cvtInt("strides", 2)}, WindowAttrOptions{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadWindowAttrs(cvtAttrNode(tc.attrs...), tc.opt); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// An attribute the options do not allow stays unread.
	n := cvtAttrNode(cvtInts("dilations", 2))
	if _, err := ReadWindowAttrs(n, WindowAttrOptions{}); err != nil {
		t.Fatal(err)
	}
	if u := n.Unused(); fmt.Sprint(u) != "[dilations]" {
		t.Fatalf("unused %v, want [dilations]", u)
	}
}

func TestResolveTranspose(t *testing.T) {
	tests := []struct {
		name   string
		attrs  []*onnx.AttributeProto
		in     []int
		kernel []int
		out    []int // ConvTranspose's output size (Window.In)
		pb, pe []int
	}{
		// 1*(3-1) + 0 + 3 - 0 - 0 = 5
		{"default", nil, []int{3}, []int{3}, []int{5}, []int{0}, []int{0}},
		// 3*(3-1) + 1 + 3 - 1 - 2 = 7
		{"strides pads output_padding", []*onnx.AttributeProto{cvtInts("strides", 3), cvtInts("pads", 1, 2), cvtInts("output_padding", 1)}, []int{3}, []int{3}, []int{7}, []int{1}, []int{2}},
		// dilation 2: 1*(4-1) + (3-1)*2 + 1 = 8
		{"dilations", []*onnx.AttributeProto{cvtInts("dilations", 2)}, []int{4}, []int{3}, []int{8}, []int{0}, []int{0}},
		// output_shape 10 with s 3, in 3, k 3: total 3*2 + 3 - 10 = -1: the
		// output extends at the end (begin 0, end -1).
		{"output_shape larger", []*onnx.AttributeProto{cvtInts("strides", 3), cvtInts("output_shape", 10)}, []int{3}, []int{3}, []int{10}, []int{0}, []int{-1}},
		// output_shape 6: total 9 - 6 = 3 -> NOTSET: begin 3 - 1 = 2, end 1.
		{"output_shape much larger", []*onnx.AttributeProto{cvtInts("strides", 3), cvtInts("output_shape", 12)}, []int{3}, []int{3}, []int{12}, []int{0}, []int{-3}},
		{"output_shape smaller", []*onnx.AttributeProto{cvtInts("strides", 3), cvtInts("output_shape", 6)}, []int{3}, []int{3}, []int{6}, []int{2}, []int{1}},
		// output_shape with N and C axes is accepted.
		{"output_shape full rank", []*onnx.AttributeProto{cvtInts("strides", 3), cvtInts("output_shape", 1, 2, 6)}, []int{3}, []int{3}, []int{6}, []int{2}, []int{1}},
		// SAME_UPPER: out = 3*2 = 6; total 2*2 + 3 - 6 = 1 -> begin 0, end 1.
		{"same upper", []*onnx.AttributeProto{cvtString("auto_pad", "SAME_UPPER"), cvtInts("strides", 2)}, []int{3}, []int{3}, []int{6}, []int{0}, []int{1}},
		{"same lower", []*onnx.AttributeProto{cvtString("auto_pad", "SAME_LOWER"), cvtInts("strides", 2)}, []int{3}, []int{3}, []int{6}, []int{1}, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &onnx.NodeProto{OpType: proto.String("ConvTranspose"), Input: []string{"x", "w"}, Output: []string{"y"}, Attribute: tc.attrs}
			ta, err := ReadTransposeAttrs(NewNode(p, 22, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			w, err := ta.ResolveTranspose(tc.in, tc.kernel)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(w.In, w.Out, w.PadBegin, w.PadEnd) != fmt.Sprint(tc.out, tc.in, tc.pb, tc.pe) {
				t.Fatalf("sizes %v <- %v pads %v %v, want %v <- %v %v %v", w.In, w.Out, w.PadBegin, w.PadEnd, tc.out, tc.in, tc.pb, tc.pe)
			}
		})
	}
}
