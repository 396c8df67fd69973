package quantize

import (
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/opset"
)

// upgradeOpset raises m's default-domain opset to target, converting the
// nodes whose operators changed, and returns how many it converted.
func upgradeOpset(m *onnx.ModelProto, target int64) (int, error) {
	rep, err := opset.Upgrade(m, target)
	if err != nil {
		return 0, err
	}
	return len(rep.Converted), nil
}
