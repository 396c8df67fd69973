package tensor_test

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

func Example() {
	// A float32 tensor goes to an ONNX TensorProto and back.
	w := tensor.FromSlice([]int{2, 2}, []float32{1, -2, 0.1, 65520})
	tp, err := tensor.ToProto(w, "w")
	if err != nil {
		panic(err)
	}
	fmt.Println(tp.GetName(), tp.GetDims(), len(tp.GetRawData()), "bytes")
	back, err := tensor.FromProto(tp)
	if err != nil {
		panic(err)
	}
	fmt.Println(back, tensor.As[float32](back))

	// Casting to float16 rounds to nearest even; 65520 overflows to +Inf.
	h, err := tensor.Convert(back, tensor.Float16)
	if err != nil {
		panic(err)
	}
	for i, v := range tensor.As[tensor.F16](h) {
		if i > 0 {
			fmt.Print(" ")
		}
		fmt.Printf("%#04x=%v", uint16(v), v.Float32())
	}
	fmt.Println()

	// Casting to int8 truncates toward zero.
	q, _ := tensor.Convert(back, tensor.Int8)
	fmt.Println(tensor.As[int8](q))

	// Output:
	// w [2 2] 16 bytes
	// float32[2 2] [1 -2 0.1 65520]
	// 0x3c00=1 0xc000=-2 0x2e66=0.099975586 0x7c00=+Inf
	// [1 -2 0 127]
}

func ExampleF16FromFloat32() {
	for _, f := range []float32{1, 0.1, 1e-8, 70000} {
		h := tensor.F16FromFloat32(f)
		fmt.Printf("%v -> %#04x -> %v\n", f, uint16(h), h.Float32())
	}
	// Output:
	// 1 -> 0x3c00 -> 1
	// 0.1 -> 0x2e66 -> 0.099975586
	// 1e-08 -> 0x0000 -> 0
	// 70000 -> 0x7c00 -> +Inf
}
