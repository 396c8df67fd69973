//go:build ignore

// gendigits writes digits.npy and labels.npy for the demo: the first 500
// digits of the shared MNIST test data (50 of each class, in the
// dataset.MNISTDigits round-robin order) as uint8 pixels [500, 28, 28] and
// their labels as int64 [500]. Run from the repository root:
//
//	go run examples/mnist/gendigits.go ../shared/testdata/mnist/digits
package main

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/tensor"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run examples/mnist/gendigits.go DIGITS_DIR")
		os.Exit(2)
	}
	r, err := dataset.MNISTDigits(os.Args[1], dataset.MNISTOptions{Input: "x", Scale: 255})
	if err != nil {
		fail(err)
	}
	const n = 500
	pix := make([]uint8, 0, n*784)
	labels := make([]int64, 0, n)
	for len(labels) < n {
		s, err := r.Next(context.Background())
		if err != nil {
			fail(err)
		}
		for _, v := range s.Inputs["x"].Data.([]float32) {
			pix = append(pix, uint8(math.Round(float64(v))))
		}
		labels = append(labels, int64(s.Label))
	}
	if err := tensor.WriteNpyFile("examples/mnist/digits.npy", tensor.FromSlice([]int{n, 28, 28}, pix)); err != nil {
		fail(err)
	}
	if err := tensor.WriteNpyFile("examples/mnist/labels.npy", tensor.FromSlice([]int{n}, labels)); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
