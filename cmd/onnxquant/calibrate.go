package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/onnxquant/onnxquant/calibrate"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	register(command{name: "calibrate", summary: "find activation ranges on real data (and merge calibration shards)", run: runCalibrate})
}

// interruptContext returns the context calibration runs under: cancelled
// by Ctrl-C or SIGTERM. Tests replace it.
var interruptContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runCalibrate(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runCalibrateMerge(args[1:], stdout, stderr)
	}
	fs := newFlags("calibrate", "MODEL --data PATH -o PARAMS.json [flags]\n       onnxquant calibrate merge A.json B.json ... -o ALL.json", `
Runs the data at PATH through the float model MODEL and writes the activation
ranges and quantization parameters of the tensors that static quantization
needs (the inputs and outputs of the nodes --format, --op-types, --nodes and
--exclude select) to PARAMS.json, which 'onnxquant quantize --params' reads.

Data: a folder (or file) of images (.jpg, .png), .npy sample folders, .npz,
ONNX test_data_set_* folders, WAV files or the MNIST digits JSON files.

Methods: minmax (optionally --moving-average), entropy (TensorRT's KL
threshold search: --bins, --quantized-levels) and percentile (--percentile,
--symmetric). Each tensor is folded into its statistics as soon as it is
produced, so memory stays that of one inference.

--save-stats adds the raw statistics, so that shards calibrated apart can be
merged: 'onnxquant calibrate merge a.json b.json -o all.json' gives the
result of one run over all the data. Ctrl-C stops cleanly and writes nothing.`, stderr)
	cf := addCalibFlags(fs)
	out := fs.String("o", "", "the calibration file to write (required)")
	format := fs.String("format", "qdq", "the quantization format whose tensors to calibrate: integer, qlinear or qdq")
	var nodes, exclude, opTypes, types listFlag
	fs.Var(&nodes, "nodes", "only calibrate for these nodes (comma-separated names)")
	fs.Var(&exclude, "exclude", "never calibrate for these nodes (comma-separated names)")
	fs.Var(&opTypes, "op-types", "only calibrate for these op types (comma-separated)")
	fs.Var(&types, "activation-type", "activation types to give scales for: uint8, int8 or both (default uint8)")
	symA := fs.Bool("symmetric-activations", false, "scales for symmetric activation ranges")
	saveStats := fs.Bool("save-stats", false, "also write the raw statistics (for 'calibrate merge')")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d", len(pos))
	}
	if *out == "" {
		return usagef("-o PARAMS.json is required")
	}
	if cf.data == "" {
		return usagef("--data PATH is required")
	}
	qtypes, err := parseQTypes(types)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	var cfg quantize.Config
	if cfg.Format, err = quantize.ParseFormat(*format); err != nil {
		return &usageError{err.Error()}
	}
	cfg.NodesToQuantize, cfg.NodesToExclude, cfg.OpTypesToQuantize = nodes, exclude, opTypes
	modelPath := pos[0]
	m, err := onnx.Load(modelPath)
	if err != nil {
		return err
	}
	tensors, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		return err
	}
	if len(tensors) == 0 {
		return fmt.Errorf("calibrate: %s: no tensors to calibrate: no node of the selected types and names would be quantized", modelPath)
	}
	ctx, stop := interruptContext()
	defer stop()
	// Every sample leaves an inference's worth of garbage: collecting it
	// sooner than Go's default keeps peak memory near one inference's,
	// however many samples run.
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	res, err := cf.run(ctx, m, tensors, stderr)
	if err != nil {
		return err
	}
	fo := calibrate.FileOptions{Types: qtypes, Symmetric: *symA, Stats: *saveStats, Model: filepath.Base(modelPath)}
	if err := calibrate.WriteFile(*out, res, fo); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "calibrated %d tensor(s) of %s on %d sample(s) (%s, %s engine)\nwrote %s\n", len(res.Tensors), modelPath, res.Samples, res.Method, res.Engine, *out)
	return nil
}

func runCalibrateMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate merge", "A.json B.json ... -o ALL.json", `
Merges calibration files written with --save-stats (MinMax files merge
without it) into the file one run over all their data would have written.
The methods and settings must match. The merged file keeps the raw
statistics, and the first file's activation types unless given.`, stderr)
	out := fs.String("o", "", "the merged calibration file to write (required)")
	var types listFlag
	fs.Var(&types, "activation-type", "activation types to give scales for (default: the first file's)")
	symA := fs.Bool("symmetric-activations", false, "scales for symmetric activation ranges (default: the first file's)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o ALL.json is required")
	}
	if len(pos) < 2 {
		return usagef("want at least two calibration files, got %d", len(pos))
	}
	for _, p := range pos {
		if err := sameFile(p, *out); err != nil {
			return usagef("-o %s is one of the inputs; choose another file", *out)
		}
	}
	res, fo, err := calibrate.MergeFiles(pos...)
	if err != nil {
		return err
	}
	if len(types) > 0 {
		if fo.Types, err = parseQTypes(types); err != nil {
			return err
		}
	}
	symSet := false
	fs.Visit(func(f *flag.Flag) { symSet = symSet || f.Name == "symmetric-activations" })
	if symSet {
		fo.Symmetric = *symA
	}
	fo.Stats = true
	if err := calibrate.WriteFile(*out, res, fo); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d file(s): %d tensor(s), %d sample(s)\nwrote %s\n", len(pos), len(res.Tensors), res.Samples, *out)
	return nil
}

// calibrateFor calibrates m for quantization with cfg (the one-shot
// `quantize --calibrate`) and returns the activation parameters.
func calibrateFor(m *onnx.ModelProto, cfg quantize.Config, cf *calibFlags, stderr io.Writer) (map[string]quantize.TensorParams, error) {
	tensors, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		return nil, err
	}
	if len(tensors) == 0 {
		return map[string]quantize.TensorParams{}, nil
	}
	ctx, stop := interruptContext()
	defer stop()
	res, err := cf.run(ctx, m, tensors, stderr)
	if err != nil {
		return nil, err
	}
	at := cfg.ActivationType
	if at == tensor.Undefined {
		at = tensor.Uint8
	}
	return res.Params(at, cfg.SymmetricActivations)
}

func parseQTypes(list []string) ([]tensor.DataType, error) {
	var out []tensor.DataType
	for _, s := range list {
		t, err := parseQType(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// calibFlags are the data and method flags shared by `calibrate` and
// `quantize --calibrate`.
type calibFlags struct {
	dataFlags
	data                     string
	method                   string
	percentile               float64
	symmetric, movingAverage bool
	averagingConstant        float64
	bins, levels, threads    int
	engine, augmented        string
	quiet                    bool
}

// addCalibFlags defines the shared flags on fs; the data path is --data
// (quantize names it --calibrate itself).
func addCalibFlags(fs *flag.FlagSet) *calibFlags {
	f := &calibFlags{}
	if fs.Lookup("calibrate") == nil {
		fs.StringVar(&f.data, "data", "", "the calibration data (required)")
	}
	fs.StringVar(&f.method, "method", "minmax", "calibration method: minmax, entropy or percentile")
	fs.Float64Var(&f.percentile, "percentile", calibrate.DefaultPercentile, "percentile for --method percentile")
	fs.BoolVar(&f.symmetric, "symmetric", false, "percentile of |x| (range [-t, t]) instead of cutting each tail")
	fs.BoolVar(&f.movingAverage, "moving-average", false, "minmax: average the per-sample ranges")
	fs.Float64Var(&f.averagingConstant, "averaging-constant", calibrate.DefaultAveragingConstant, "moving-average constant c in old + c*(new-old)")
	fs.IntVar(&f.bins, "bins", calibrate.DefaultBins, "histogram bins over [0, max|x|] (at least)")
	fs.IntVar(&f.levels, "quantized-levels", calibrate.DefaultQuantizedLevels, "entropy: quantized levels")
	f.dataFlags.register(fs, "calibrate on at most N samples (0: all)", "skip unreadable images (listed in a warning) instead of failing")
	fs.StringVar(&f.engine, "engine", "go", "engine: go (pure Go) or ort (ONNX Runtime, on the reference tool's augmented model)")
	fs.IntVar(&f.threads, "threads", 0, "engine threads (0: all cores)")
	fs.StringVar(&f.augmented, "augmented-model", "", "save the augmented model (ReduceMin/ReduceMax outputs) to PATH")
	return f
}

// check validates the flags that need no model.
func (f *calibFlags) check() error {
	if _, err := calibrate.ParseMethod(f.method); err != nil {
		return &usageError{err.Error()}
	}
	return f.dataFlags.check()
}

// datasetOptions turns the data flags into dataset options.
func (f *calibFlags) datasetOptions() (dataset.Options, error) { return f.dataFlags.options() }

func (f *calibFlags) options() (calibrate.Options, error) {
	m, err := calibrate.ParseMethod(f.method)
	if err != nil {
		return calibrate.Options{}, &usageError{err.Error()}
	}
	return calibrate.Options{
		Method: m,
		Settings: calibrate.Settings{
			MovingAverage: f.movingAverage, AveragingConstant: f.averagingConstant,
			Bins: f.bins, QuantizedLevels: f.levels, Percentile: f.percentile, Symmetric: f.symmetric,
		},
		Engine: f.engine, Threads: f.threads, AugmentedModel: f.augmented,
	}, nil
}

// run opens the data for m and calibrates the tensors, showing progress on
// stderr and printing the warnings there.
func (f *calibFlags) run(ctx context.Context, m *onnx.ModelProto, tensors []string, stderr io.Writer) (*calibrate.Result, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	dopts, err := f.datasetOptions()
	if err != nil {
		return nil, err
	}
	src, err := dataset.Open(f.data, dataset.ModelInputs(m), dopts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var r dataset.Reader = src
	if f.skip > 0 {
		r = dataset.Skip(r, f.skip)
	}
	if f.samples > 0 {
		r = dataset.Limit(r, f.samples)
	}
	p := newProgress(stderr)
	opts.Progress, opts.Total = p.update, f.samples
	res, err := calibrate.Run(ctx, m, tensors, r, opts)
	p.finish()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: %w; nothing was written", err)
		}
		return nil, err
	}
	if ir, ok := src.(*dataset.ImageReader); ok {
		if skipped := ir.Skipped(); len(skipped) > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("skipped %d unreadable image(s): %s", len(skipped), strings.Join(skipped, ", ")))
		}
		if n := ir.Dropped(); n > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("dropped %d image(s) that did not fill a last batch", n))
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return res, nil
}

// progress shows calibration progress on stderr: a bar redrawn in place
// on a terminal, plain lines every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	last  time.Time
	shown bool
	cur   calibrate.Progress
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, last: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(pr calibrate.Progress) {
	p.cur = pr
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	p.show(false)
}

func (p *progress) show(final bool) {
	pr := p.cur
	rate := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		rate = float64(pr.Done) / s
	}
	count := strconv.Itoa(pr.Done)
	eta := ""
	if pr.Total > 0 {
		count += "/" + strconv.Itoa(pr.Total)
		if rate > 0 && pr.Done < pr.Total && !final {
			eta = fmt.Sprintf(", ETA %s", (time.Duration(float64(pr.Total-pr.Done)/rate) * time.Second).Round(time.Second))
		}
	}
	line := fmt.Sprintf("%s samples, %.1f samples/s%s", count, rate, eta)
	if final {
		line = fmt.Sprintf("%s samples in %s, %.1f samples/s", count, pr.Elapsed.Round(time.Millisecond), rate)
	}
	if !p.tty {
		fmt.Fprintf(p.w, "calibrate: %s\n", line)
		return
	}
	bar := ""
	if pr.Total > 0 {
		const width = 30
		n := min(width, pr.Done*width/pr.Total)
		bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
	}
	fmt.Fprintf(p.w, "\r%s%s\033[K", bar, line)
	p.shown = true
}

// finish prints the final line when anything was calibrated.
func (p *progress) finish() {
	if p.cur.Done > 0 {
		p.show(true)
	}
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
