package quantize

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnx"
)

// upgradeOpset raises m's default-domain opset to target, converting the
// nodes whose operators changed, and returns how many it converted.
func upgradeOpset(m *onnx.ModelProto, target int64) (int, error) {
	return 0, fmt.Errorf("opset conversion to %d is not available", target)
}
