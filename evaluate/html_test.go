package evaluate_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/quantize"
)

// TestWriteHTMLEscapes checks that names from a model cannot inject markup
// and that the page refers to nothing outside itself.
func TestWriteHTMLEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>&'`
	var st evaluate.Stats
	if err := st.Add([]float32{1, 2}, []float32{1, 2.5}); err != nil {
		t.Fatal(err)
	}
	rep := &evaluate.DebugReport{
		Samples: 1,
		Tensors: []evaluate.TensorError{{Name: evil, Counterpart: evil, Producer: evaluate.NodeRef{Name: evil, OpType: "Conv", Index: 0}, Stats: st}},
		Nodes:   []evaluate.NodeError{{Tensor: evil, SQNR: st.SQNR(), Nodes: []evaluate.NodeRef{{Name: evil, OpType: "Conv"}}, AddedNSR: st.NSR()}},
		Notes:   []string{evil},
	}
	var b bytes.Buffer
	if err := evaluate.WriteHTML(&b, evaluate.Page{FloatModel: evil, Debug: rep, Excluded: []evaluate.ExcludedNode{{Name: evil, OpType: "Conv", Reason: evil}}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script") || strings.Contains(page, `alert("x")`) {
		t.Errorf("a tensor name reached the page unescaped:\n%s", page)
	}
	for _, ext := range []string{" src=", " href=", "@import", "url(", "<link", "<img"} {
		if strings.Contains(page, ext) {
			t.Errorf("the page refers to an outside resource (%q)", ext)
		}
	}
	if !strings.Contains(page, "<svg") || !strings.Contains(page, `id="excluded"`) {
		t.Error("the page lacks the chart or the excluded nodes")
	}
}

// TestHTMLInChromium renders the report of mnist-8 against a quantization
// with one broken layer in headless Chromium and checks that the page
// draws (a screenshot with the chart's colours in it), that the SVG is in
// the rendered DOM with one bar per tensor, and that the browser logs no
// console error.
func TestHTMLInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Unavailable(t, "chromium not installed (make setup-apt installs it): %v", err)
	}
	m := mnist8(t)
	qm := quantizeMinMax(t, m, quantize.Config{Format: quantize.QDQ, Static: true}, digits(t, m, 20), map[string]float64{"Convolution110_Output_0": 100})
	ev, err := evaluate.Eval(context.Background(), m, qm, digits(t, m, 30), evaluate.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dbg, err := evaluate.Debug(m, qm, digits(t, m, 2), evaluate.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	err = evaluate.WriteHTML(f, evaluate.Page{FloatModel: "mnist-8.onnx", QuantModel: "mnist-8 (QDQ, one range broken)", Eval: ev, Debug: dbg,
		Excluded: []evaluate.ExcludedNode{{Name: "Convolution110", OpType: "Conv", Reason: "adds the most error"}}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + page
	chrome := func(args ...string) (stdout, stderr string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1200,900", "--enable-logging=stderr", "--v=0"}
		cmd := exec.CommandContext(ctx, browser, append(append(base, args...), url)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}
	checkConsole := func(log string) {
		t.Helper()
		for _, line := range strings.Split(log, "\n") {
			// Chromium logs console messages as "...:INFO:CONSOLE:1] ..."
			// (or ERROR:CONSOLE); the page has no script, so any is wrong.
			if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") {
				t.Errorf("console message: %s", line)
			}
		}
	}

	shot := filepath.Join(dir, "shot.png")
	_, log := chrome("--screenshot=" + shot)
	checkConsole(log)
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, log)
	}
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	bounds := img.Bounds()
	colours := map[[3]uint32]int{}
	nonWhite := 0
	var red, blue int
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			colours[[3]uint32{r, g, b}]++
			if r < 245 || g < 245 || b < 245 {
				nonWhite++
			}
			// The chart's bar colour (59,117,175) and warning red (214,39,40).
			if near3(r, g, b, 59, 117, 175) {
				blue++
			}
			if near3(r, g, b, 214, 39, 40) {
				red++
			}
		}
	}
	total := bounds.Dx() * bounds.Dy()
	t.Logf("screenshot %dx%d: %.1f%% non-white, %d colours, %d bar pixels, %d warning pixels", bounds.Dx(), bounds.Dy(), 100*float64(nonWhite)/float64(total), len(colours), blue, red)
	if bounds.Dx() < 800 || bounds.Dy() < 600 {
		t.Errorf("screenshot is %dx%d", bounds.Dx(), bounds.Dy())
	}
	if nonWhite < total/20 || len(colours) < 8 {
		t.Errorf("the screenshot looks blank: %d of %d pixels not white, %d colours", nonWhite, total, len(colours))
	}
	if blue < 2000 || red < 30 {
		t.Errorf("the chart did not draw: %d bar pixels, %d warning pixels", blue, red)
	}

	dom, log := chrome("--dump-dom")
	checkConsole(log)
	if !strings.Contains(dom, "<svg") {
		t.Fatalf("no SVG in the rendered DOM:\n%s", dom)
	}
	bars := len(regexp.MustCompile(`<rect class="bar`).FindAllString(dom, -1))
	if bars != len(dbg.Tensors) {
		t.Errorf("%d bars in the rendered chart, want one per tensor (%d)", bars, len(dbg.Tensors))
	}
	for _, id := range []string{`id="summary"`, `id="outputs"`, `id="tensors"`, `id="nodes"`, `id="weights"`, `id="excluded"`, "Convolution110"} {
		if !strings.Contains(dom, id) {
			t.Errorf("rendered page lacks %s", id)
		}
	}
}

func near3(r, g, b, wr, wg, wb uint32) bool {
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(r, wr) <= 6 && d(g, wg) <= 6 && d(b, wb) <= 6
}
