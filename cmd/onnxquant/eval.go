package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/onnx"
)

func init() {
	register(command{name: "eval", summary: "compare a quantized model with its float original on data", run: runEval})
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "FLOAT QUANT --data PATH [flags]", `
Runs the float model FLOAT and the quantized model QUANT on the same samples
and prints, for each output, the SQNR (dB), cosine similarity and largest
absolute error; the top-1 agreement of a classifier-like output ([N, C] or
[C]); each model's top-1 accuracy when the samples have labels (MNIST digits
carry theirs; images get them from --labels); the median latency of one run
of each model (after warm-up runs) and the speedup; and the model sizes.

--labels FILE is either a labels file (one "name<TAB>index" or "name,index"
line per sample) or an ImageNet synset table (labels_all_1000.tsv or
synset.txt) for images whose file names start with their synset.

--html FILE also writes a self-contained page with a per-layer SQNR chart,
which runs both models again on --debug-samples samples in the Go engine.`, stderr)
	data := addEvalDataFlags(fs)
	engineName := fs.String("engine", "go", "engine: go (pure Go) or ort (ONNX Runtime)")
	threads := fs.Int("threads", 0, "engine threads (0: all cores)")
	warmup := fs.Int("warmup", 2, "untimed runs of each model before timing")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	htmlOut := fs.String("html", "", "also write an HTML report to FILE")
	debugSamples := fs.Int("debug-samples", 4, "samples for the per-layer chart of --html")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want FLOAT and QUANT, got %d argument(s)", len(pos))
	}
	if err := data.check(); err != nil {
		return err
	}
	if *warmup < 0 || *debugSamples < 1 {
		return usagef("--warmup cannot be negative and --debug-samples must be at least 1")
	}
	fm, qm, err := loadModelPair(pos[0], pos[1])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := data.open(fm)
	if err != nil {
		return err
	}
	defer r.Close()
	w := *warmup
	if w == 0 {
		w = -1 // EvalOptions: 0 means the default
	}
	rep, err := evaluate.Eval(ctx, fm, qm, r, evaluate.EvalOptions{Engine: *engineName, Threads: *threads, Warmup: w})
	if err != nil {
		return err
	}
	rep.SizeBytesFloat = modelFileSize(pos[0], fm)
	rep.SizeBytesQuant = modelFileSize(pos[1], qm)
	if *htmlOut != "" {
		page := evaluate.Page{FloatModel: pos[0], QuantModel: pos[1], Eval: rep}
		dr, err := data.open(fm)
		if err != nil {
			return err
		}
		dbg, err := evaluate.Debug(fm, qm, dr, evaluate.DebugOptions{Context: ctx, Samples: *debugSamples, Threads: *threads})
		dr.Close()
		if err != nil {
			page.Notes = append(page.Notes, fmt.Sprintf("no per-layer chart: %v", err))
		} else {
			page.Debug = dbg
		}
		if err := writeHTMLFile(*htmlOut, page); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if *htmlOut != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *htmlOut)
	}
	return nil
}

// loadModelPair loads the float and the quantized model.
func loadModelPair(floatPath, quantPath string) (*onnx.ModelProto, *onnx.ModelProto, error) {
	fm, err := onnx.Load(floatPath)
	if err != nil {
		return nil, nil, fmt.Errorf("float model: %w", err)
	}
	qm, err := onnx.Load(quantPath)
	if err != nil {
		return nil, nil, fmt.Errorf("quantized model: %w", err)
	}
	return fm, qm, nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeHTMLFile writes the page to path.
func writeHTMLFile(path string, page evaluate.Page) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	if err := evaluate.WriteHTML(f, page); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

// modelFileSize returns the size of a model file plus the external data
// files its initializers name (0 when the file cannot be read).
func modelFileSize(path string, m *onnx.ModelProto) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	total := st.Size()
	seen := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetDataLocation() != onnx.TensorProto_EXTERNAL {
			continue
		}
		for _, kv := range t.GetExternalData() {
			if kv.GetKey() != "location" || seen[kv.GetValue()] {
				continue
			}
			seen[kv.GetValue()] = true
			if xs, err := os.Stat(filepath.Join(filepath.Dir(path), kv.GetValue())); err == nil {
				total += xs.Size()
			}
		}
	}
	return total
}

// evalDataFlags are the data flags of eval and debug.
type evalDataFlags struct {
	dataFlags
	path, labels   string
	defaultSamples int
}

func addEvalDataFlags(fs *flag.FlagSet) *evalDataFlags {
	d := &evalDataFlags{}
	fs.StringVar(&d.path, "data", "", "the samples: a folder of images, MNIST digits, test_data_set_* folders, .npy folders, .npz or .wav (required)")
	fs.StringVar(&d.labels, "labels", "", "labels: a name<TAB>index file, or a synset table for ImageNet-style image names")
	d.dataFlags.register(fs, "use at most N samples (0: all)", "skip unreadable images instead of failing")
	return d
}

// check validates the flags that need no model.
func (d *evalDataFlags) check() error {
	if d.path == "" {
		return usagef("--data PATH is required")
	}
	return d.dataFlags.check()
}

// open opens the samples for model m, labelled, skipped and limited as
// the flags say.
func (d *evalDataFlags) open(m *onnx.ModelProto) (dataset.Reader, error) {
	o, err := d.options()
	if err != nil {
		return nil, err
	}
	if d.labels != "" {
		if o.Labels, err = evalLabels(d.labels); err != nil {
			return nil, err
		}
	}
	r, err := dataset.Open(d.path, dataset.ModelInputs(m), o)
	if err != nil {
		return nil, err
	}
	if d.skip > 0 {
		r = dataset.Skip(r, d.skip)
	}
	n := d.samples
	if n == 0 {
		n = d.defaultSamples
	}
	if n > 0 {
		r = dataset.Limit(r, n)
	}
	return r, nil
}

// evalLabels reads a labels file: a synset table when it reads as one,
// else a name -> index file.
func evalLabels(path string) (dataset.LabelFunc, error) {
	l, synErr := dataset.LabelsFromImageNames(path)
	if synErr == nil {
		return l, nil
	}
	l, fileErr := dataset.LabelsFromFile(path)
	if fileErr == nil {
		return l, nil
	}
	return nil, fmt.Errorf("--labels %s: neither a synset table (%v) nor a labels file (%v)", path, synErr, fileErr)
}
