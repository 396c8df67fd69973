//go:build cgo

package evaluate_test

import (
	"bufio"
	"context"
	"image"
	"image/draw"
	_ "image/png"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/calibrate"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// textCrop is a box around one line of text in a shared photo, and the
// text it shows (as a person reads it).
type textCrop struct {
	photo  string
	x0, y0 int
	x1, y1 int
	text   string
}

// The boxes were read off the photos by eye.
var textCrops = []textCrop{
	{"passport.png", 60, 328, 565, 374, "SAMPLE - IMMIHELP.COM"},
	{"passport.png", 198, 541, 412, 565, "UNITED STATES OF AMERICA"},
	{"passport.png", 198, 570, 292, 594, "22 Jan 1974"},
	{"passport.png", 198, 601, 322, 625, "Mumbai, INDIA"},
	{"passport.png", 198, 633, 292, 657, "18 Sep 2005"},
	{"passport.png", 198, 662, 292, 686, "17 Sep 2014"},
	{"passport.png", 438, 463, 522, 487, "31195855"},
	{"passport.png", 462, 636, 558, 658, "United States"},
	{"passport.png", 436, 655, 580, 678, "Department of State"},
	{"passport.png", 212, 692, 302, 712, "SEE PAGE 51"},
	{"passport.png", 12, 740, 508, 769, "P<USAGUPTA<<RAHUL<RAM<<<<<<<<<<<<<<<<<<"},
	{"passport.png", 12, 767, 508, 796, "311958554USA1234567M1234567890123456<123456"},
	{"exceltable.png", 32, 48, 150, 67, "Chocolade"},
	{"exceltable.png", 32, 69, 150, 88, "Gummibarchen"},
	{"exceltable.png", 32, 90, 190, 109, "Scottish Longbreads"},
	{"exceltable.png", 32, 111, 190, 130, "Sir Rodney's Scones"},
	{"exceltable.png", 32, 132, 150, 151, "Tarte au sucre"},
	{"exceltable.png", 32, 153, 190, 172, "Chocolate Biscuits"},
	{"exceltable.png", 210, 48, 290, 67, "$744.60"},
	{"exceltable.png", 200, 69, 290, 88, "$5,079.60"},
	{"exceltable.png", 300, 69, 380, 88, "$1,249.20"},
	{"exceltable.png", 390, 90, 478, 109, "$2,330.00"},
}

// ocrInput crops a box, scales it to height 48 keeping its aspect ratio
// (bilinear), and normalizes as PaddleOCR does: (p/255 - 0.5) / 0.5, NCHW.
func ocrInput(img image.Image, c textCrop) *tensor.Tensor {
	src := image.NewRGBA(image.Rect(0, 0, c.x1-c.x0, c.y1-c.y0))
	draw.Draw(src, src.Bounds(), img, image.Pt(c.x0, c.y0), draw.Src)
	h := 48
	w := (c.x1 - c.x0) * h / (c.y1 - c.y0)
	w = (w + 7) / 8 * 8
	out := tensor.New(tensor.Float32, 1, 3, h, w)
	d := out.Data.([]float32)
	sw, sh := float64(c.x1-c.x0), float64(c.y1-c.y0)
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*sh/float64(h) - 0.5
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*sw/float64(w) - 0.5
			x0, y0 := int(fx), int(fy)
			ax, ay := fx-float64(x0), fy-float64(y0)
			if fx < 0 {
				x0, ax = 0, 0
			}
			if fy < 0 {
				y0, ay = 0, 0
			}
			x1, y1 := min(x0+1, int(sw)-1), min(y0+1, int(sh)-1)
			for ch := 0; ch < 3; ch++ {
				px := func(xx, yy int) float64 { return float64(src.Pix[yy*src.Stride+xx*4+ch]) }
				v := (1-ay)*((1-ax)*px(x0, y0)+ax*px(x1, y0)) + ay*((1-ax)*px(x0, y1)+ax*px(x1, y1))
				d[(ch*h+y)*w+x] = float32((v/255 - 0.5) / 0.5)
			}
		}
	}
	return out
}

// ctcDecode reads a [1, T, C] probability tensor greedily: the best class
// per step, repeats collapsed, blanks (class 0) dropped; class i is
// keys[i-1], and the last class a space.
func ctcDecode(t *tensor.Tensor, keys []string) string {
	d := t.Data.([]float32)
	steps, classes := t.Shape[1], t.Shape[2]
	var b strings.Builder
	prev := -1
	for s := 0; s < steps; s++ {
		row := d[s*classes : (s+1)*classes]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if best != prev && best != 0 {
			switch {
			case best-1 < len(keys):
				b.WriteString(keys[best-1])
			default:
				b.WriteString(" ")
			}
		}
		prev = best
	}
	return b.String()
}

// TestPPOCRText quantizes PaddleOCR v4's text recogniser (CNN + attention,
// weights in Constant nodes), calibrated on the crops themselves, and reads
// 22 lines of text from the passport and spreadsheet photos with the float
// and the 8-bit model in ONNX Runtime (greedy CTC over ppocr_keys_v1.txt).
// The float model must read at least 3/4 of the lines as a person does; the
// 8-bit model must give the same text as the float model on at least 3/5 of
// them (the fraction is reported).
func TestPPOCRText(t *testing.T) {
	modelPath := testenv.DataFile(t, "models", "ppocr-v4-rec.onnx")
	keysFile, err := os.Open(testenv.DataFile(t, "models", "ppocr_keys_v1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	sc := bufio.NewScanner(keysFile)
	for sc.Scan() {
		keys = append(keys, sc.Text())
	}
	keysFile.Close()
	imgs := map[string]image.Image{}
	var inputs []map[string]*tensor.Tensor
	for _, c := range textCrops {
		img, ok := imgs[c.photo]
		if !ok {
			f, err := os.Open(testenv.DataFile(t, "images", "photos", c.photo))
			if err != nil {
				t.Fatal(err)
			}
			img, _, err = image.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			imgs[c.photo] = img
		}
		inputs = append(inputs, map[string]*tensor.Tensor{"x": ocrInput(img, c)})
	}
	m, err := onnx.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true}
	tensors, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := calibrate.Run(context.Background(), m, tensors, dataset.FromTensors(inputs), calibrate.Options{Method: calibrate.MinMax, Engine: "ort"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Params, err = res.Params(tensor.Uint8, false); err != nil {
		t.Fatal(err)
	}
	qm, rep, err := quantize.Model(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	read := func(model *onnx.ModelProto) []string {
		b, err := proto.Marshal(model)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ort.LibraryPath(); err != nil {
			testenv.Unavailable(t, "ONNX Runtime: %v", err)
		}
		s, err := ort.NewSession(b, ort.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out []string
		for _, in := range inputs {
			o, err := s.Run(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ctcDecode(o["softmax_11.tmp_0"], keys))
		}
		return out
	}
	floatText, quantText := read(m), read(qm)
	// Spaces are ignored, as PaddleOCR's own recognition metric does by
	// default: the recogniser's blank-versus-space choice on narrow gaps
	// is not what is being measured.
	nospace := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	right, same := 0, 0
	for i, c := range textCrops {
		if nospace(floatText[i]) == nospace(c.text) {
			right++
		}
		if nospace(floatText[i]) == nospace(quantText[i]) {
			same++
		}
		t.Logf("%-45q float %-45q int8 %q", c.text, floatText[i], quantText[i])
	}
	n := len(textCrops)
	t.Logf("%d nodes quantized; float reads %d/%d lines as written; int8 text equals float on %d/%d lines (%.0f%%)", rep.QuantizedCount(), right, n, same, n, 100*float64(same)/float64(n))
	if right*4 < n*3 {
		t.Errorf("the float model reads only %d of %d lines right: the crops or the preprocessing are wrong", right, n)
	}
	if same*5 < n*3 {
		t.Errorf("the 8-bit model reads the same text as the float model on only %d of %d lines", same, n)
	}
}
