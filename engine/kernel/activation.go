package kernel

import (
	"math"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// Activation functions: Relu, LeakyRelu, Elu, Selu, Celu, ThresholdedRelu,
// Sigmoid, HardSigmoid, HardSwish, Softplus, Softsign, Tanh, Gelu, Mish and
// Shrink. They run through the unary dispatch of unary.go.

func init() {
	for _, a := range []struct {
		name  string
		op    unaryOp
		min   int64
		attrs func(n *Node, p *unaryParams) error
	}{
		{"Relu", uRelu, 1, nil},
		{"LeakyRelu", uLeakyRelu, 1, floatAttrs(fattr{"alpha", 0.01})},
		{"Elu", uElu, 1, floatAttrs(fattr{"alpha", 1})},
		// SELU's constants as the ONNX spec gives them (float32 values).
		{"Selu", uSelu, 1, floatAttrs(fattr{"alpha", 1.67326319217681884765625}, fattr{"gamma", 1.05070102214813232421875})},
		{"Celu", uCelu, 12, floatAttrs(fattr{"alpha", 1})},
		{"ThresholdedRelu", uThresholdedRelu, 10, floatAttrs(fattr{"alpha", 1})},
		{"Sigmoid", uSigmoid, 1, nil},
		{"HardSigmoid", uHardSigmoid, 1, floatAttrs(fattr{"alpha", 0.2}, fattr{"beta", 0.5})},
		{"HardSwish", uHardSwish, 14, nil},
		{"Softplus", uSoftplus, 1, nil},
		{"Softsign", uSoftsign, 1, nil},
		{"Tanh", uTanh, 1, nil},
		{"Gelu", uGelu, 20, geluAttrs},
		{"Mish", uMish, 18, nil},
		// Shrink's lambd goes to alpha and bias to beta.
		{"Shrink", uShrink, 9, floatAttrs(fattr{"lambd", 0.5}, fattr{"bias", 0})},
	} {
		Register(Op{Type: a.name, MinOpset: a.min, Build: buildUnary(a.op, a.attrs)})
	}
}

// fattr is a float attribute's name and default value.
type fattr struct {
	name string
	def  float32
}

// floatAttrs returns an attribute reader for up to three float attributes,
// stored in alpha, beta and gamma in the order given (Selu's gamma goes to
// beta, Shrink's lambd and bias to alpha and beta).
func floatAttrs(attrs ...fattr) func(n *Node, p *unaryParams) error {
	return func(n *Node, p *unaryParams) error {
		dst := []*float64{&p.alpha, &p.beta, &p.gamma}
		for i, a := range attrs {
			v, err := n.Float(a.name, a.def)
			if err != nil {
				return err
			}
			*dst[i] = float64(v)
		}
		if p.op == uCelu && p.alpha == 0 {
			return n.Errorf("alpha must not be 0")
		}
		return nil
	}
}

// geluAttrs reads Gelu's approximate attribute ("none" or "tanh").
func geluAttrs(n *Node, p *unaryParams) error {
	s, err := n.String("approximate", "none")
	if err != nil {
		return err
	}
	switch s {
	case "none":
	case "tanh":
		p.op = uGeluTanh
	default:
		return n.Errorf("approximate is %q, want none or tanh", s)
	}
	return nil
}

// activationLoop computes o[i] = f(x[i]) for the activations.
func activationLoop[T floatElem](p *unaryParams, o, x []T) {
	o = o[:len(x)]
	alpha, beta := T(p.alpha), T(p.beta)
	switch p.op {
	case uRelu:
		if of, ok := any(o).([]float32); ok {
			// The vector clamp: the same results (NaN and -0 kept).
			copy(of, any(x).([]float32))
			gemm.BiasClamp(of, false, 0, true, 0, float32(math.Inf(1)))
			return
		}
		for i, v := range x {
			if v < 0 {
				v = 0
			}
			o[i] = v
		}
	case uLeakyRelu:
		for i, v := range x {
			if v < 0 {
				v *= alpha
			}
			o[i] = v
		}
	case uThresholdedRelu:
		for i, v := range x {
			if !(v > alpha) {
				v = 0
			}
			o[i] = v
		}
	case uHardSigmoid:
		for i, v := range x {
			o[i] = max(0, min(1, alpha*v+beta))
		}
	case uHardSwish:
		const sixth = 1.0 / 6
		for i, v := range x {
			o[i] = v * max(0, min(1, v*sixth+0.5))
		}
	case uSoftsign:
		for i, v := range x {
			o[i] = v / (1 + T(math.Abs(float64(v))))
		}
	case uShrink:
		// alpha is lambd, beta is bias.
		for i, v := range x {
			switch {
			case v < -alpha:
				o[i] = v + beta
			case v > alpha:
				o[i] = v - beta
			default:
				o[i] = 0
			}
		}
	case uElu:
		a := p.alpha
		for i, v := range x {
			if v < 0 {
				v = T(a * math.Expm1(float64(v)))
			}
			o[i] = v
		}
	case uSelu:
		a, g := p.alpha, p.beta // beta holds gamma
		for i, v := range x {
			f := float64(v)
			if f > 0 {
				o[i] = T(g * f)
			} else {
				o[i] = T(g * a * math.Expm1(f))
			}
		}
	case uCelu:
		a := p.alpha
		for i, v := range x {
			if v < 0 {
				v = T(a * math.Expm1(float64(v)/a))
			}
			o[i] = v
		}
	case uSigmoid:
		for i, v := range x {
			o[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	case uTanh:
		for i, v := range x {
			o[i] = T(math.Tanh(float64(v)))
		}
	case uSoftplus:
		for i, v := range x {
			o[i] = T(softplus(float64(v)))
		}
	case uMish:
		for i, v := range x {
			f := float64(v)
			o[i] = T(f * math.Tanh(softplus(f)))
		}
	case uGelu:
		for i, v := range x {
			f := float64(v)
			o[i] = T(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
		}
	case uGeluTanh:
		// sqrt(2/pi) and the cubic coefficient of the tanh approximation.
		const c = 0.7978845608028654
		for i, v := range x {
			f := float64(v)
			o[i] = T(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
		}
	}
}

// softplus returns log(1+exp(x)) without overflow for large x.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
