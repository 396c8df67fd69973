package kernel

import (
	"github.com/onnxquant/onnxquant/internal/gemm"
)

func init() {
	Register(Op{Type: "GRU", MaxOpset: cfMaxOpset, Build: buildGRU})
}

// buildGRU prepares GRU (opsets 1, 3, 7, 14, 22). With gates in the order
// z, r, h in W, R and B:
//
//	zt = f(Xt*Wz^T + Ht-1*Rz^T + Wbz + Rbz)
//	rt = f(Xt*Wr^T + Ht-1*Rr^T + Wbr + Rbr)
//	ht = g(Xt*Wh^T + (rt (.) Ht-1)*Rh^T + Rbh + Wbh)    linear_before_reset = 0
//	ht = g(Xt*Wh^T + rt (.) (Ht-1*Rh^T + Rbh) + Wbh)    linear_before_reset != 0
//	Ht = (1 - zt) (.) ht + zt (.) Ht-1
//
// with f, g = Sigmoid, Tanh by default.
// https://onnx.ai/onnx/operators/onnx__GRU.html
func buildGRU(n *Node) (Kernel, error) {
	s, err := rnnParse(n, rnnGRU, []string{"Sigmoid", "Tanh"})
	if err != nil {
		return nil, err
	}
	lbr, err := n.Int("linear_before_reset", 0)
	if err != nil {
		return nil, err
	}
	s.linearBeforeReset = lbr != 0
	if err := s.prepack(); err != nil {
		return nil, err
	}
	return KernelFunc(s.run), nil
}

// gru is one GRU step over the batch rows still running.
func (st *rnnStep[T]) gru() error {
	h, batch := st.a.h, st.a.batch
	gh := 3 * h
	var rzr, rhh *gemm.PackedB
	if st.rp != nil {
		rzr, rhh = st.rp[0], st.rp[1]
	}
	// z and r: their recurrent products first, since h needs r.
	if err := rnnMatMul(batch, 2*h, h, st.state, h, st.rd[:2*h*h], rzr, true, st.gates, gh, st.threads); err != nil {
		return err
	}
	fAct, gAct := st.acts[0], st.acts[1]
	clip := st.s.hasClip
	for b := 0; b < batch; b++ {
		if !st.active[b] {
			continue
		}
		zr := st.gates[b*gh : b*gh+2*h]
		if clip {
			rnnClip(zr, st.clip)
		}
		rnnApply(fAct, zr)
	}
	lbr := st.s.linearBeforeReset
	rh := st.rd[2*h*h:]
	if lbr {
		if err := rnnMatMul(batch, h, h, st.state, h, rh, rhh, false, st.hbuf, h, st.threads); err != nil {
			return err
		}
	} else {
		for b := 0; b < batch; b++ {
			if !st.active[b] {
				continue
			}
			r := st.gates[b*gh+h : b*gh+2*h]
			hs := st.state[b*h : (b+1)*h]
			dst := st.rh[b*h : (b+1)*h]
			for j, v := range hs {
				dst[j] = r[j] * v
			}
		}
		if err := rnnMatMul(batch, h, h, st.rh, h, rh, rhh, false, st.hbuf, h, st.threads); err != nil {
			return err
		}
	}
	for b := 0; b < batch; b++ {
		if !st.active[b] {
			continue
		}
		g := st.gates[b*gh : (b+1)*gh]
		z, r, hh := g[:h], g[h:2*h], g[2*h:]
		rec := st.hbuf[b*h : (b+1)*h]
		switch {
		case lbr && st.rbh != nil:
			for j, v := range rec {
				hh[j] += r[j] * (v + st.rbh[j])
			}
		case lbr:
			for j, v := range rec {
				hh[j] += r[j] * v
			}
		default:
			for j, v := range rec {
				hh[j] += v
			}
		}
		if clip {
			rnnClip(hh, st.clip)
		}
		rnnApply(gAct, hh)
		hs := st.state[b*h : (b+1)*h]
		for j, v := range hs {
			hs[j] = (1-z[j])*hh[j] + z[j]*v
		}
	}
	return nil
}
