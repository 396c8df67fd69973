package kernel

import (
	"math"

	"github.com/onnxquant/onnxquant/internal/gemm"

	"github.com/onnxquant/onnxquant/tensor"
)

// Fusion of an elementwise clamp (Relu, Clip) into the kernel that
// produces its input. The engine fuses a Conv with the Relu or Clip that is
// the only reader of its output when no observer needs to see the Conv's
// own output; the fused kernel then clamps each block of the output while
// it is still in cache instead of making a separate pass over memory.

// Clamp is the elementwise map v -> min(max(v, Lo), Hi) on float32 values
// as gemm.BiasClamp computes it: Hi wins when Lo > Hi (as in Clip), NaN
// stays NaN, and Relu(-0) is -0 as in the Relu kernel.
type Clamp struct{ Lo, Hi float32 }

func (c *Clamp) apply(v []float32) { gemm.BiasClamp(v, false, 0, true, c.Lo, c.Hi) }

// ClampOf reports whether the node is a float32 clamp of its first input:
// a Relu, or a Clip whose bounds are attributes (before opset 11) or
// float32 constants. It returns the bounds.
func ClampOf(n *Node) (Clamp, bool) {
	inf := float32(math.Inf(1))
	switch n.Proto.GetOpType() {
	case "Relu":
		if NormalizeDomain(n.Proto.GetDomain()) != "" {
			return Clamp{}, false
		}
		return Clamp{Lo: 0, Hi: inf}, true
	case "Clip":
		if NormalizeDomain(n.Proto.GetDomain()) != "" {
			return Clamp{}, false
		}
		c := Clamp{Lo: -inf, Hi: inf}
		if n.Opset < 11 {
			if n.Opset >= 6 {
				c = Clamp{Lo: -math.MaxFloat32, Hi: math.MaxFloat32}
			}
			var err error
			if n.Has("min") {
				if c.Lo, err = n.Float("min", 0); err != nil {
					return Clamp{}, false
				}
			}
			if n.Has("max") {
				if c.Hi, err = n.Float("max", 0); err != nil {
					return Clamp{}, false
				}
			}
			return c, true
		}
		for i, b := range []*float32{&c.Lo, &c.Hi} {
			if !n.HasInput(i + 1) {
				continue
			}
			t := n.Const(i + 1)
			if t == nil || t.DType != tensor.Float32 || t.Len() != 1 {
				return Clamp{}, false
			}
			*b = t.Data.([]float32)[0]
		}
		return c, true
	}
	return Clamp{}, false
}

// ClampFuser is implemented by kernels that can take over a clamp of their
// single output.
type ClampFuser interface {
	// FuseClamp returns a kernel computing the receiver's output followed
	// by the activation node act: for a float32 output by applying c as the
	// output is produced, for other element types by running act on the
	// output, with actIn holding act's other inputs (constants; actIn[0]
	// is ignored). It returns nil when it cannot fuse.
	FuseClamp(c Clamp, act Kernel, actIn []*tensor.Tensor) Kernel
}

// FuseClamp implements ClampFuser for Conv.
func (k *convKernel) FuseClamp(c Clamp, act Kernel, actIn []*tensor.Tensor) Kernel {
	if k.act != nil || act == nil {
		return nil
	}
	fused := *k
	fused.act = &c
	return &fusedClampKernel{fused: &fused, plain: k, act: act, actIn: append([]*tensor.Tensor(nil), actIn...)}
}

// fusedClampKernel runs a kernel with a clamp fused in for float32 inputs,
// and the kernel followed by the activation node otherwise.
type fusedClampKernel struct {
	fused, plain Kernel
	act          Kernel
	actIn        []*tensor.Tensor
}

func (f *fusedClampKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) > 0 && in[0] != nil && in[0].DType == tensor.Float32 {
		return f.fused.Run(ctx, in)
	}
	out, err := f.plain.Run(ctx, in)
	if err != nil || len(out) == 0 {
		return out, err
	}
	// The activation's inputs: the output, then its constant ones.
	args := fuseArgs.get()
	*args = append((*args)[:0], f.actIn...)
	if len(*args) == 0 {
		*args = append(*args, nil)
	}
	(*args)[0] = out[0]
	res, err := f.act.Run(ctx, *args)
	clear(*args)
	fuseArgs.put(args)
	return res, err
}

// fuseArgs recycles the input lists of fusedClampKernel's activations.
var fuseArgs jobPool[[]*tensor.Tensor]
