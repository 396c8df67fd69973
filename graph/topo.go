package graph

import (
	"container/heap"
	"fmt"
)

// TopoSort orders the nodes of g, and of every subgraph, so that each node
// comes after the producers of all it reads (subgraph reads included). The
// sort is stable: among the nodes whose inputs are ready, the one earliest
// in the current order goes first, so an already valid order is kept. A
// cycle is an error naming a node on it; the order is then unchanged.
func (g *Graph) TopoSort() error {
	order, err := g.topoOrder()
	if err != nil {
		return err
	}
	for _, n := range g.nodes {
		for _, s := range n.subgraphs {
			if err := s.TopoSort(); err != nil {
				return err
			}
		}
	}
	g.nodes = order
	for i, n := range g.nodes {
		n.index = i
	}
	return nil
}

// intHeap is a min-heap of node positions.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// topoOrder returns g's nodes in stable topological order without changing
// g.
func (g *Graph) topoOrder() ([]*Node, error) {
	n := len(g.nodes)
	pending := make([]int, n)
	users := make([][]int, n)
	for i, nd := range g.nodes {
		deps := map[int]bool{}
		add := func(name string) {
			if p, ok := g.producer[name]; ok && p != nd {
				deps[p.index] = true
			} else if ok && p == nd {
				deps[i] = true
			}
		}
		for _, in := range nd.proto.Input {
			add(in)
		}
		if len(nd.subgraphs) > 0 {
			for in := range nd.implicitSet() {
				add(in)
			}
		}
		pending[i] = len(deps)
		for d := range deps {
			users[d] = append(users[d], i)
		}
	}
	h := &intHeap{}
	for i := range pending {
		if pending[i] == 0 {
			*h = append(*h, i)
		}
	}
	heap.Init(h)
	order := make([]*Node, 0, n)
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		order = append(order, g.nodes[i])
		for _, u := range users[i] {
			pending[u]--
			if pending[u] == 0 {
				heap.Push(h, u)
			}
		}
	}
	if len(order) < n {
		return nil, fmt.Errorf("graph: graph %q has a cycle through node %s", g.Name(), g.cycleNode(pending))
	}
	return order, nil
}

// cycleNode returns a node that lies on a cycle, given the nodes left
// pending by Kahn's algorithm (some of which only depend on a cycle).
func (g *Graph) cycleNode(pending []int) *Node {
	// Walk back from a pending node through pending producers: a walk in a
	// finite set must revisit a node, and that node is on a cycle.
	start := -1
	for i, p := range pending {
		if p > 0 {
			start = i
			break
		}
	}
	seen := map[int]bool{}
	cur := start
	for !seen[cur] {
		seen[cur] = true
		next := -1
		nd := g.nodes[cur]
		names := append([]string(nil), nd.proto.Input...)
		if len(nd.subgraphs) > 0 {
			names = append(names, nd.ImplicitInputs()...)
		}
		for _, in := range names {
			if p, ok := g.producer[in]; ok && pending[p.index] > 0 {
				next = p.index
				break
			}
		}
		if next < 0 {
			break
		}
		cur = next
	}
	return g.nodes[cur]
}

// RemoveUnused removes dead code from g and its subgraphs: nodes none of
// whose outputs contributes to a graph output, and initializers nothing
// reads (with the graph input of the same name, as in IR 3 models, and the
// value_info of removed values). Reads inside subgraphs of outer-scope
// values count as uses. It returns how many nodes and initializers were
// removed.
func (g *Graph) RemoveUnused() (nodes, initializers int) {
	// Subgraphs first: what they stop reading may free values here.
	for _, n := range g.nodes {
		for _, s := range n.subgraphs {
			a, b := s.RemoveUnused()
			nodes += a
			initializers += b
		}
	}
	live := map[string]bool{}
	for _, vi := range g.proto.Output {
		live[vi.GetName()] = true
	}
	keep := make([]bool, len(g.nodes))
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		for _, o := range n.proto.Output {
			if o != "" && live[o] {
				keep[i] = true
				break
			}
		}
		if !keep[i] {
			continue
		}
		for _, in := range n.proto.Input {
			live[in] = true
		}
		if len(n.subgraphs) > 0 {
			for in := range n.implicitSet() {
				live[in] = true
			}
		}
	}
	// A node before its producer (unsorted graph) may have marked values
	// live only after the producer was visited: iterate to a fixed point.
	for changed := true; changed; {
		changed = false
		for i, n := range g.nodes {
			if keep[i] {
				continue
			}
			for _, o := range n.proto.Output {
				if o != "" && live[o] {
					keep[i] = true
				}
			}
			if keep[i] {
				changed = true
				for _, in := range n.proto.Input {
					live[in] = true
				}
				for in := range n.implicitSet() {
					live[in] = true
				}
			}
		}
	}
	var dead []*Node
	for i, n := range g.nodes {
		if !keep[i] {
			dead = append(dead, n)
		}
	}
	removed := map[string]bool{}
	for _, n := range dead {
		for _, o := range n.proto.Output {
			removed[o] = true
		}
		if err := g.RemoveNode(n); err == nil {
			nodes++
		}
	}
	for _, name := range g.Initializers() {
		if live[name] {
			continue
		}
		if g.RemoveInitializer(name) {
			initializers++
			removed[name] = true
			g.RemoveInput(name)
			delete(g.types, name)
		}
	}
	if len(removed) > 0 {
		list := g.proto.ValueInfo[:0]
		for _, vi := range g.proto.ValueInfo {
			if !removed[vi.GetName()] {
				list = append(list, vi)
			}
		}
		for i := len(list); i < len(g.proto.ValueInfo); i++ {
			g.proto.ValueInfo[i] = nil
		}
		g.proto.ValueInfo = list
		for name := range removed {
			delete(g.types, name)
			delete(g.vals, name)
		}
	}
	return nodes, initializers
}
