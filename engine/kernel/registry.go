package kernel

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Domains of the operator sets the engine knows.
const (
	DomainONNX      = ""
	DomainMicrosoft = "com.microsoft"
)

// DefaultMaxOpset is the highest opset version an operator registered without
// an explicit MaxOpset is trusted to run.
const DefaultMaxOpset = 27

// Op describes one operator the engine can run.
type Op struct {
	Domain   string // "" for the default ONNX domain
	Type     string
	MinOpset int64 // lowest domain opset version supported (0 means 1)
	MaxOpset int64 // highest domain opset version supported (0 means DefaultMaxOpset)
	Build    Builder
}

var (
	regMu    sync.RWMutex
	registry = map[string][]Op{}
)

// NormalizeDomain maps "ai.onnx" to "", the default domain's canonical name.
func NormalizeDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

func key(domain, opType string) string { return NormalizeDomain(domain) + "\x00" + opType }

// Register adds an operator to the registry. Registering the same domain,
// type and an overlapping opset range twice panics: it is a programming error.
func Register(op Op) {
	if op.MinOpset == 0 {
		op.MinOpset = 1
	}
	if op.MaxOpset == 0 {
		op.MaxOpset = DefaultMaxOpset
	}
	op.Domain = NormalizeDomain(op.Domain)
	regMu.Lock()
	defer regMu.Unlock()
	k := key(op.Domain, op.Type)
	for _, o := range registry[k] {
		if op.MinOpset <= o.MaxOpset && o.MinOpset <= op.MaxOpset {
			panic(fmt.Sprintf("kernel: %s %q registered twice for overlapping opsets", op.Domain, op.Type))
		}
	}
	registry[k] = append(registry[k], op)
}

// Lookup returns the operator registered for op type in domain at the given
// domain opset version.
func Lookup(domain, opType string, opset int64) (Op, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	for _, o := range registry[key(domain, opType)] {
		if opset >= o.MinOpset && opset <= o.MaxOpset {
			return o, true
		}
	}
	return Op{}, false
}

// Known reports whether any version of the operator is registered.
func Known(domain, opType string) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	return len(registry[key(domain, opType)]) > 0
}

// Supported lists every registered operator as "domain:Type[min-max]",
// sorted, for error messages and documentation.
func Supported() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for _, ops := range registry {
		for _, o := range ops {
			d := o.Domain
			if d == "" {
				d = "ai.onnx"
			}
			out = append(out, fmt.Sprintf("%s:%s[%d-%d]", d, o.Type, o.MinOpset, o.MaxOpset))
		}
	}
	sort.Strings(out)
	return out
}

// SupportedTypes returns the sorted op types registered in a domain.
func SupportedTypes(domain string) []string {
	regMu.RLock()
	defer regMu.RUnlock()
	prefix := NormalizeDomain(domain) + "\x00"
	var out []string
	for k := range registry {
		if strings.HasPrefix(k, prefix) {
			out = append(out, strings.TrimPrefix(k, prefix))
		}
	}
	sort.Strings(out)
	return out
}
