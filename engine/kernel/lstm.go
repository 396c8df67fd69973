package kernel

import (
	"github.com/onnxquant/onnxquant/internal/gemm"
)

func init() {
	Register(Op{Type: "LSTM", MaxOpset: cfMaxOpset, Build: buildLSTM})
}

// buildLSTM prepares LSTM (opsets 1, 7, 14, 22). With gates in the order
// i, o, f, c in W, R and B, and peepholes P = (Pi, Po, Pf):
//
//	it = f(Xt*Wi^T + Ht-1*Ri^T + Pi (.) Ct-1 + Wbi + Rbi)
//	ft = f(Xt*Wf^T + Ht-1*Rf^T + Pf (.) Ct-1 + Wbf + Rbf)
//	ct = g(Xt*Wc^T + Ht-1*Rc^T + Wbc + Rbc)
//	Ct = ft (.) Ct-1 + it (.) ct
//	ot = f(Xt*Wo^T + Ht-1*Ro^T + Po (.) Ct + Wbo + Rbo)
//	Ht = ot (.) h(Ct)
//
// with f, g, h = Sigmoid, Tanh, Tanh by default. input_forget couples the
// forget gate to the input gate: ft = 1 - it (as ONNX Runtime does). clip
// bounds every gate's pre-activation.
// https://onnx.ai/onnx/operators/onnx__LSTM.html
func buildLSTM(n *Node) (Kernel, error) {
	s, err := rnnParse(n, rnnLSTM, []string{"Sigmoid", "Tanh", "Tanh"})
	if err != nil {
		return nil, err
	}
	f, err := n.Int("input_forget", 0)
	if err != nil {
		return nil, err
	}
	s.inputForget = f != 0
	if err := s.prepack(); err != nil {
		return nil, err
	}
	return KernelFunc(s.run), nil
}

// lstm is one LSTM step over the batch rows still running.
func (st *rnnStep[T]) lstm() error {
	h, batch := st.a.h, st.a.batch
	gh := 4 * h
	var rp *gemm.PackedB
	if st.rp != nil {
		rp = st.rp[0]
	}
	if err := rnnMatMul(batch, gh, h, st.state, h, st.rd, rp, true, st.gates, gh, st.threads); err != nil {
		return err
	}
	fAct, gAct, hAct := st.acts[0], st.acts[1], st.acts[2]
	var pi, po, pf []T
	if st.peep != nil {
		pi, po, pf = st.peep[:h], st.peep[h:2*h], st.peep[2*h:3*h]
	}
	clip := st.s.hasClip
	for b := 0; b < batch; b++ {
		if !st.active[b] {
			continue
		}
		g := st.gates[b*gh : (b+1)*gh]
		gi, gO, gf, gc := g[:h], g[h:2*h], g[2*h:3*h], g[3*h:4*h]
		c := st.cell[b*h : (b+1)*h]
		hs := st.state[b*h : (b+1)*h]
		if pi != nil {
			for j, cv := range c {
				gi[j] += pi[j] * cv
				gf[j] += pf[j] * cv
			}
		}
		if clip {
			rnnClip(gi, st.clip)
		}
		rnnApply(fAct, gi)
		if st.s.inputForget {
			for j, v := range gi {
				gf[j] = 1 - v
			}
		} else {
			if clip {
				rnnClip(gf, st.clip)
			}
			rnnApply(fAct, gf)
		}
		if clip {
			rnnClip(gc, st.clip)
		}
		rnnApply(gAct, gc)
		for j := range c {
			c[j] = gf[j]*c[j] + gi[j]*gc[j]
		}
		if po != nil {
			for j, cv := range c {
				gO[j] += po[j] * cv
			}
		}
		if clip {
			rnnClip(gO, st.clip)
		}
		rnnApply(fAct, gO)
		// h(Ct), computed in the cell gate's now free space.
		copy(gc, c)
		rnnApply(hAct, gc)
		for j := range hs {
			hs[j] = gO[j] * gc[j]
		}
	}
	return nil
}
