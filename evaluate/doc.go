// Package evaluate measures how far a quantized model strays from its float
// original, on real data.
//
// Eval runs both models on the same samples and reports, per graph output,
// the signal-to-quantization-noise ratio (SQNR), cosine similarity and
// largest absolute error, the top-1 agreement of classifier-like outputs,
// each model's accuracy when the samples carry labels, and each model's
// latency. Every figure is accumulated as running sums over the samples:
// no output is kept after it has been compared.
//
// Debug goes inside the models: it pairs every activation of the float
// model with its counterpart in the quantized one (the same value name, or
// the 8-bit "<name>_quantized" tensor dequantized with its scale and zero
// point), captures those tensors through the pure-Go engine's observers on
// a few samples, and ranks them by SQNR; it also ranks the quantized
// weights by their rounding error, and the float model's nodes by the error
// they add (DebugReport.Nodes), the list an accuracy-driven fallback
// excludes from quantization first.
//
// WriteHTML renders either report, or both, as one self-contained HTML page
// with the per-layer SQNR chart drawn as inline SVG.
//
// The metrics, for reference values x and test values y:
//
//	SQNR (dB)  = 10 log10(Σ x² / Σ (x−y)²)
//	cosine     = Σ xy / sqrt(Σ x² · Σ y²)
//	max error  = max |x − y|
package evaluate
