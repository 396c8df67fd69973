package gemm

// ArithOp selects the operation of ArithF32.
type ArithOp uint8

// The operations of ArithF32.
const (
	ArithAdd ArithOp = iota
	ArithSub
	ArithMul
	ArithDiv
)

// ArithF32 sets o[i] = a[i*sa] op b[i*sb] for i < len(o), with sa and sb
// each 0 (a single value, broadcast) or 1, rounding each result to
// float32 as Go's operators do. With clamp, each result is then bounded to
// [lo, hi] as BiasClamp bounds it (NaN stays NaN). a and b must hold the
// values read; op must be one of the Arith constants.
func ArithF32(op ArithOp, o, a []float32, sa int, b []float32, sb int, clamp bool, lo, hi float32) {
	n := len(o)
	if n == 0 {
		return
	}
	done := arithVec(op, o, a, sa, b, sb, clamp, lo, hi)
	if done == n {
		return
	}
	o = o[done:]
	if sa == 1 {
		a = a[done:n]
	}
	if sb == 1 {
		b = b[done:n]
	}
	for i := range o {
		x, y := a[i*sa], b[i*sb]
		var v float32
		switch op {
		case ArithAdd:
			v = x + y
		case ArithSub:
			v = x - y
		case ArithMul:
			v = x * y
		default:
			v = x / y
		}
		o[i] = v
	}
	if clamp {
		BiasClamp(o, false, 0, true, lo, hi)
	}
}
