package evaluate

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
)

// Page is what WriteHTML renders. Any of Eval, Debug and Excluded may be
// missing; the page shows what it is given.
type Page struct {
	// Title heads the page ("onnxquant report" when empty).
	Title string
	// FloatModel and QuantModel name the models (file paths, say).
	FloatModel, QuantModel string
	// Eval is the output comparison, Debug the per-layer one.
	Eval  *EvalReport
	Debug *DebugReport
	// Excluded lists the nodes left in float, as an accuracy-driven
	// fallback decided.
	Excluded []ExcludedNode
	// Notes are shown at the end, as given.
	Notes []string
	// Rows bounds each ranked table (0: 25). Highlight is the number of
	// worst tensors drawn in the chart's warning colour (0: 5).
	Rows, Highlight int
}

// ExcludedNode is a node left in float and why.
type ExcludedNode struct {
	Name, OpType, Reason string
}

// WriteHTML writes p as one self-contained HTML page: no scripts, styles
// inline, the per-layer SQNR chart as inline SVG.
func WriteHTML(w io.Writer, p Page) error {
	if p.Title == "" {
		p.Title = "onnxquant report"
	}
	if p.Rows <= 0 {
		p.Rows = 25
	}
	if p.Highlight <= 0 {
		p.Highlight = 5
	}
	d := pageData{Page: p}
	if p.Eval != nil {
		d.Summary = evalSummary(p.Eval)
		for i := range p.Eval.Outputs {
			o := &p.Eval.Outputs[i]
			t1 := "–"
			if o.Classifier {
				t1 = pct(o.Top1.Rate())
			}
			d.Outputs = append(d.Outputs, []string{o.Name, dims(o.Shape), fmtDB(o.Stats.SQNR()), fmtG(o.Stats.Cosine(), 6), fmtG(o.Stats.MaxAbsErr, 4), t1})
		}
	}
	if r := p.Debug; r != nil {
		d.Chart = template.HTML(sqnrChart(r.Tensors, p.Highlight))
		d.DebugSamples = r.Samples
		for i, t := range r.Tensors[:min(p.Rows, len(r.Tensors))] {
			d.Tensors = append(d.Tensors, []string{fmt.Sprint(i + 1), t.Name, t.Producer.Label(), t.Producer.OpType, fmt.Sprint(t.Producer.Index), fmtDB(t.Stats.SQNR()), fmtG(t.Stats.Cosine(), 6), fmtG(t.Stats.MaxAbsErr, 4)})
		}
		for i, n := range r.Nodes[:min(p.Rows, len(r.Nodes))] {
			var labels []string
			for _, x := range n.Nodes {
				labels = append(labels, x.Label()+" ("+x.OpType+")")
			}
			d.Nodes = append(d.Nodes, []string{fmt.Sprint(i + 1), strings.Join(labels, ", "), n.Tensor, fmtG(n.AddedNSR, 3), fmtDB(n.SQNR), fmtDB(n.InputSQNR)})
		}
		for i, wt := range r.Weights[:min(p.Rows, len(r.Weights))] {
			ch := "per tensor"
			if wt.Channels > 1 {
				ch = fmt.Sprintf("%d along axis %d (worst %d: %s dB)", wt.Channels, wt.Axis, wt.WorstChannel, fmtDB(wt.WorstChannelSQNR))
			}
			var rd []string
			for _, x := range wt.Readers {
				rd = append(rd, x.Label())
			}
			d.Weights = append(d.Weights, []string{fmt.Sprint(i + 1), wt.Name, strings.Join(rd, ", "), wt.Type.String(), ch, fmtDB(wt.Stats.SQNR()), fmtG(wt.Stats.MaxAbsErr, 4)})
		}
		d.Unmatched = len(r.Unmatched)
		d.Notes = append(d.Notes, r.Notes...)
	}
	d.Notes = append(d.Notes, p.Notes...)
	var b strings.Builder
	if err := pageTemplate.Execute(&b, d); err != nil {
		return fmt.Errorf("evaluate: rendering the HTML page: %w", err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("evaluate: writing the HTML page: %w", err)
	}
	return nil
}

type pageData struct {
	Page
	Summary      [][2]string
	Outputs      [][]string
	Chart        template.HTML
	DebugSamples int
	Tensors      [][]string
	Nodes        [][]string
	Weights      [][]string
	Unmatched    int
	Notes        []string
}

func evalSummary(r *EvalReport) [][2]string {
	rows := [][2]string{
		{"samples", fmt.Sprintf("%d (engine %s)", r.Samples, r.Engine)},
	}
	if r.Top1Output != "" {
		rows = append(rows, [2]string{"top-1 agreement", pct(r.Top1Agreement) + " (" + r.Top1Output + ")"})
	} else {
		rows = append(rows, [2]string{"top-1 agreement", "n/a (no classifier-like output)"})
	}
	if r.Labelled > 0 {
		rows = append(rows, [2]string{"accuracy", fmt.Sprintf("float %s, quantized %s (%d labelled)", pct(r.AccuracyFloat), pct(r.AccuracyQuant), r.Labelled)})
	} else {
		rows = append(rows, [2]string{"accuracy", "n/a (no labels)"})
	}
	rows = append(rows, [2]string{"latency, median per sample", fmt.Sprintf("float %.3f ms, quantized %.3f ms (speedup %.2fx)", r.LatencyFloatMS, r.LatencyQuantMS, r.Speedup)})
	if r.SizeBytesFloat > 0 && r.SizeBytesQuant > 0 {
		rows = append(rows, [2]string{"model size", fmt.Sprintf("float %s, quantized %s (%.1f%%)", humanBytes(r.SizeBytesFloat), humanBytes(r.SizeBytesQuant), 100*float64(r.SizeBytesQuant)/float64(r.SizeBytesFloat))})
	}
	return rows
}

// Chart colours.
const (
	colorBar     = "#3b75af"
	colorWorst   = "#d62728"
	colorExact   = "#9ecae1"
	colorAxis    = "#333333"
	colorGrid    = "#dddddd"
	chartWidth   = 1100
	chartPlotH   = 240
	chartLeft    = 60
	chartRight   = 20
	chartTop     = 30
	chartMaxBars = 2000
	// chartLabels is the most bars whose names are written under them.
	chartLabels = 80
)

// sqnrChart draws the SQNR of each tensor, in graph order, as SVG bars;
// the highlight worst finite ones are drawn in the warning colour and
// exact ones (infinite SQNR) as pale full-height bars.
func sqnrChart(tensors []TensorError, highlight int) string {
	ts := make([]TensorError, 0, len(tensors))
	for _, t := range tensors {
		if !math.IsNaN(t.Stats.SQNR()) {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return `<p class="note">No matched tensor to chart.</p>`
	}
	worst := map[string]bool{}
	byErr := append([]TensorError(nil), ts...)
	sort.SliceStable(byErr, func(i, j int) bool { return byErr[i].Stats.SQNR() < byErr[j].Stats.SQNR() })
	for _, t := range byErr[:min(highlight, len(byErr))] {
		if !math.IsInf(t.Stats.SQNR(), 1) {
			worst[t.Name] = true
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Producer.Index < ts[j].Producer.Index })
	if len(ts) > chartMaxBars {
		ts = ts[:chartMaxBars]
	}
	lo, hi := 0.0, 10.0
	for _, t := range ts {
		s := t.Stats.SQNR()
		if math.IsInf(s, 0) {
			continue
		}
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	lo = math.Floor(math.Max(lo, -100)/10) * 10
	hi = math.Ceil((hi+1)/10) * 10
	labelled := len(ts) <= chartLabels
	chartBottom := 30
	if labelled {
		chartBottom = 130
	}
	chartHeight := chartTop + chartPlotH + chartBottom
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartPlotH)
	y := func(v float64) float64 {
		v = math.Max(lo, math.Min(hi, v))
		return chartTop + plotH*(hi-v)/(hi-lo)
	}
	step := plotW / float64(len(ts))
	barW := math.Max(step*0.8, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="SQNR per tensor in graph order">`, chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, chartWidth, chartHeight)
	tick := 10.0
	if hi-lo > 100 {
		tick = 20
	}
	for v := lo; v <= hi+1e-9; v += tick {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1"/>`, chartLeft, y(v), chartWidth-chartRight, y(v), colorGrid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="%s">%g</text>`, chartLeft-6, y(v)+4, colorAxis, v)
	}
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="12" fill="%s" transform="rotate(-90 14 %.1f)" text-anchor="middle">SQNR (dB)</text>`, chartTop+plotH/2, colorAxis, chartTop+plotH/2)
	base := y(math.Max(lo, 0))
	for i, t := range ts {
		s := t.Stats.SQNR()
		x := chartLeft + step*float64(i) + (step-barW)/2
		color, top := colorBar, y(s)
		switch {
		case math.IsInf(s, 1):
			color, top = colorExact, y(hi)
		case worst[t.Name]:
			color = colorWorst
		}
		y0, y1 := math.Min(top, base), math.Max(top, base)
		h := math.Max(y1-y0, 1)
		cls := "bar"
		if worst[t.Name] {
			cls = "bar worst"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s — %s dB (%s, %s #%d)</title></rect>`,
			cls, x, y0, barW, h, color, html.EscapeString(t.Name), fmtDB(s), html.EscapeString(t.Producer.Label()), html.EscapeString(t.Producer.OpType), t.Producer.Index)
		labelColor := colorAxis
		if worst[t.Name] {
			// A marker keeps a bar visible however short it is.
			labelColor = colorWorst
			fmt.Fprintf(&b, `<circle class="marker" cx="%.2f" cy="%.2f" r="%.1f" fill="%s" stroke="#ffffff" stroke-width="1"/>`, x+barW/2, top, math.Max(math.Min(barW/2, 5), 2.5), colorWorst)
		}
		if labelled {
			lx, ly := x+barW/2, float64(chartHeight-chartBottom)+8
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="end" transform="rotate(-55 %.1f %.1f)">%s</text>`, lx, ly, labelColor, lx, ly, html.EscapeString(shorten(t.Name, 24)))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1.5"/>`, chartLeft, base, chartWidth-chartRight, base, colorAxis)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="%s" stroke-width="1.5"/>`, chartLeft, chartTop, chartLeft, chartTop+plotH, colorAxis)
	// Legend.
	lx := chartWidth - chartRight - 360
	for i, item := range []struct{ color, label string }{{colorBar, "SQNR"}, {colorWorst, fmt.Sprintf("worst %d", min(highlight, len(worst)))}, {colorExact, "exact (no error)"}} {
		x := lx + i*120
		fmt.Fprintf(&b, `<rect x="%d" y="8" width="12" height="12" fill="%s"/><text x="%d" y="18" font-size="11" fill="%s">%s</text>`, x, item.color, x+16, colorAxis, html.EscapeString(item.label))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px 0; }
h2 { font-size: 17px; margin: 26px 0 8px 0; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
.models { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.worst td { background: #fdecea; }
.note { color: #555; font-size: 13px; }
.chart { overflow-x: auto; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<div class="models">{{if .FloatModel}}float model: <code>{{.FloatModel}}</code>{{end}}{{if .QuantModel}}<br>quantized model: <code>{{.QuantModel}}</code>{{end}}</div>
{{if .Summary}}
<h2>Summary</h2>
<table id="summary">
{{range .Summary}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
<h2>Outputs</h2>
<table id="outputs">
<tr><th>output</th><th>shape</th><th>SQNR (dB)</th><th>cosine</th><th>max |error|</th><th>top-1 agreement</th></tr>
{{range .Outputs}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td><td class="num">{{index . 2}}</td><td class="num">{{index . 3}}</td><td class="num">{{index . 4}}</td><td class="num">{{index . 5}}</td></tr>
{{end}}</table>
{{end}}
{{if .Debug}}
<h2>SQNR per layer</h2>
<p class="note">Each bar is one activation of the float model compared with its counterpart in the quantized model, in graph order, over {{.DebugSamples}} sample(s); the worst are red. Hover a bar for its name.</p>
<div class="chart">{{.Chart}}</div>
<h2>Worst tensors</h2>
<table id="tensors">
<tr><th>#</th><th>tensor</th><th>node</th><th>op</th><th>index</th><th>SQNR (dB)</th><th>cosine</th><th>max |error|</th></tr>
{{range $i, $r := .Tensors}}<tr{{if lt $i $.Highlight}} class="worst"{{end}}><td class="num">{{index $r 0}}</td><td>{{index $r 1}}</td><td>{{index $r 2}}</td><td>{{index $r 3}}</td><td class="num">{{index $r 4}}</td><td class="num">{{index $r 5}}</td><td class="num">{{index $r 6}}</td><td class="num">{{index $r 7}}</td></tr>
{{end}}</table>
{{if .Unmatched}}<p class="note">{{.Unmatched}} float tensor(s) have no counterpart in the quantized model.</p>{{end}}
{{if .Nodes}}
<h2>Nodes by added error</h2>
<table id="nodes">
<tr><th>#</th><th>nodes</th><th>tensor</th><th>added NSR</th><th>SQNR (dB)</th><th>input SQNR (dB)</th></tr>
{{range .Nodes}}<tr><td class="num">{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td><td class="num">{{index . 3}}</td><td class="num">{{index . 4}}</td><td class="num">{{index . 5}}</td></tr>
{{end}}</table>
{{end}}
{{if .Weights}}
<h2>Weights by rounding error</h2>
<table id="weights">
<tr><th>#</th><th>weight</th><th>read by</th><th>type</th><th>channels</th><th>SQNR (dB)</th><th>max |error|</th></tr>
{{range .Weights}}<tr><td class="num">{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td><td>{{index . 3}}</td><td>{{index . 4}}</td><td class="num">{{index . 5}}</td><td class="num">{{index . 6}}</td></tr>
{{end}}</table>
{{end}}
{{end}}
{{if .Excluded}}
<h2>Nodes left in float</h2>
<table id="excluded">
<tr><th>node</th><th>op</th><th>reason</th></tr>
{{range .Excluded}}<tr><td>{{.Name}}</td><td>{{.OpType}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
{{end}}
{{if .Notes}}
<h2>Notes</h2>
<ul class="note">
{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>
{{end}}
</body>
</html>
`))
