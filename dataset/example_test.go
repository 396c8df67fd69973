package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/tensor"
)

// ExampleFromTensors streams a fixed list of samples, skipping the first
// and stopping after two.
func ExampleFromTensors() {
	var samples []map[string]*tensor.Tensor
	for i := range 4 {
		samples = append(samples, map[string]*tensor.Tensor{
			"x": tensor.FromSlice([]int{1, 2}, []float32{float32(i), float32(10 * i)}),
		})
	}
	r := dataset.Limit(dataset.Skip(dataset.FromTensors(samples), 1), 2)
	defer r.Close()
	n, _ := dataset.LenOf(r)
	fmt.Println("samples:", n)
	for {
		s, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s.Name, s.Inputs["x"].Shape, tensor.As[float32](s.Inputs["x"]))
	}
	// Output:
	// samples: 2
	// 1 [1 2] [1 10]
	// 2 [1 2] [2 20]
}
