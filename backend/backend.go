// Package backend opens a model on one of onnxquant's engines behind one
// interface: "go", the pure-Go engine (always available), and "ort", ONNX
// Runtime (registered when onnxquant is built with cgo; the shared library
// is loaded at run time).
package backend

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Session is a model loaded on an engine.
type Session interface {
	// Inputs and Outputs describe the model's graph inputs (initializers
	// excluded) and outputs.
	Inputs() []engine.ValueInfo
	Outputs() []engine.ValueInfo
	// Run executes the model and returns every graph output by name.
	Run(ctx context.Context, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error)
	// Close releases the engine's resources.
	Close() error
}

// Options configure a Session.
type Options struct {
	// Threads is the number of threads the engine may use (0: its default).
	Threads int
}

// Opener loads a model on one engine.
type Opener func(m *onnx.ModelProto, opts Options) (Session, error)

var (
	mu      sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes an engine available under name.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	openers[name] = open
}

// Names lists the available engines, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for n := range openers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open loads m on the named engine.
func Open(name string, m *onnx.ModelProto, opts Options) (Session, error) {
	mu.RLock()
	open, ok := openers[name]
	mu.RUnlock()
	if !ok {
		if name == "ort" {
			return nil, fmt.Errorf("backend: engine \"ort\" (ONNX Runtime) needs a build with cgo enabled; this binary has %s", strings.Join(Names(), ", "))
		}
		return nil, fmt.Errorf("backend: unknown engine %q (available: %s)", name, strings.Join(Names(), ", "))
	}
	return open(m, opts)
}

func init() {
	Register("go", openGo)
}

// goSession adapts engine.Session.
type goSession struct{ s *engine.Session }

func openGo(m *onnx.ModelProto, opts Options) (Session, error) {
	s, err := engine.New(m, engine.Options{Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	return goSession{s}, nil
}

func (g goSession) Inputs() []engine.ValueInfo  { return g.s.Inputs() }
func (g goSession) Outputs() []engine.ValueInfo { return g.s.Outputs() }
func (g goSession) Close() error                { return nil }
func (g goSession) Run(ctx context.Context, in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return g.s.Run(ctx, in)
}
