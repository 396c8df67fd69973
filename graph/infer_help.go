package graph

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

// unranked is a type whose element type alone is known.
func unranked(elem tensor.DataType) Type { return Type{Elem: elem} }

// ranked is a type with the given element type and dimensions.
func ranked(elem tensor.DataType, dims []Dim) Type {
	if dims == nil {
		dims = []Dim{}
	}
	return Type{Elem: elem, Ranked: true, Dims: dims}
}

// withElem returns t with its element type replaced.
func withElem(t Type, elem tensor.DataType) Type {
	t = t.clone()
	t.Elem = elem
	return t
}

// unknownDims returns n anonymous unknown dimensions.
func unknownDims(n int) []Dim {
	d := make([]Dim, n)
	for i := range d {
		d[i] = UnknownDim()
	}
	return d
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(axis), nil
}

// normAxes normalises a list of axes and rejects duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := map[int]bool{}
	for i, a := range axes {
		x, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[x] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[x] = true
		out[i] = x
	}
	return out, nil
}

// broadcastDim combines two dimensions under multidirectional broadcasting.
func broadcastDim(a, b Dim) (Dim, error) {
	switch {
	case a.IsKnown() && b.IsKnown():
		if a.Value == b.Value || b.Value == 1 {
			return a, nil
		}
		if a.Value == 1 {
			return b, nil
		}
		return a, fmt.Errorf("cannot broadcast %d with %d", a.Value, b.Value)
	case a.IsKnown():
		if a.Value == 1 {
			return b, nil
		}
		return a, nil
	case b.IsKnown():
		if b.Value == 1 {
			return a, nil
		}
		return b, nil
	case a.Param != "" && a.Param == b.Param:
		return a, nil
	}
	return UnknownDim(), nil
}

// broadcastShapes returns the broadcast shape of the given types (the
// element type of the result is left unset). Any unranked input makes the
// result unranked.
func broadcastShapes(ts ...Type) (Type, error) {
	rank := 0
	for _, t := range ts {
		if !t.Ranked {
			return Type{}, nil
		}
		if len(t.Dims) > rank {
			rank = len(t.Dims)
		}
	}
	out := make([]Dim, rank)
	for i := range out {
		out[i] = Known(1)
	}
	for _, t := range ts {
		off := rank - len(t.Dims)
		for i, d := range t.Dims {
			b, err := broadcastDim(out[off+i], d)
			if err != nil {
				return Type{}, fmt.Errorf("shapes %v: %w", shapesString(ts), err)
			}
			out[off+i] = b
		}
	}
	return Type{Ranked: true, Dims: out}, nil
}

func shapesString(ts []Type) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s
}

// prodDims multiplies dimensions: known when all are, the single non-1
// dimension itself when the others are 1, else unknown.
func prodDims(ds []Dim) Dim {
	p := int64(1)
	var other *Dim
	for i := range ds {
		d := ds[i]
		if d.IsKnown() {
			p *= d.Value
			continue
		}
		if other != nil {
			return UnknownDim()
		}
		other = &ds[i]
	}
	if other == nil {
		return Known(p)
	}
	if p == 1 {
		return *other
	}
	return UnknownDim()
}

// asDim turns an element of a symValue into a dimension (negative numbers
// become unknown).
func asDim(d Dim) Dim {
	if d.Param == negMarker {
		return UnknownDim()
	}
	return d
}

// ceilDiv divides rounding up, for b > 0.
func ceilDiv(a, b int64) int64 {
	if a >= 0 {
		return (a + b - 1) / b
	}
	return -((-a) / b)
}

// floorDiv divides rounding down, for b > 0.
func floorDiv(a, b int64) int64 {
	if a >= 0 {
		return a / b
	}
	return -((-a + b - 1) / b)
}

// intsAttrOr returns an ints attribute, or n copies of def when absent.
func (c *ictx) intsAttrOr(name string, n int, def int64) []int64 {
	if v, ok := c.n.AttrInts(name); ok && len(v) > 0 {
		return v
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = def
	}
	return out
}
