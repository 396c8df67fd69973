package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

// writeWAV writes a RIFF WAVE file by the format's layout: a fmt chunk
// (format 1 = PCM), an odd-sized LIST chunk (padded to even), then data.
func writeWAV(t *testing.T, path string, channels, rate, bits int, frames []int16) {
	t.Helper()
	var data bytes.Buffer
	for _, v := range frames {
		if bits == 16 {
			binary.Write(&data, binary.LittleEndian, v)
		} else {
			data.WriteByte(uint8(v))
		}
	}
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(4 + 8 + 16 + 8 + 4 + 8 + data.Len()))
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	b.WriteString("LIST")
	le(uint32(3))
	b.WriteString("abc\x00")
	b.WriteString("data")
	le(uint32(data.Len()))
	b.Write(data.Bytes())
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadWAVShared reads the shared LibriSpeech clip. Its header gives
// 16 kHz mono 16-bit with a data chunk of 0x682e0 = 426,720 bytes, i.e.
// 213,360 samples; its first samples are the bytes f0ff f2ff eeff, that
// is -16, -14, -18.
func TestReadWAVShared(t *testing.T) {
	p := testenv.DataFile(t, "audio", "librispeech-1272-141231-0002-16k.wav")
	s, rate, err := ReadWAV(p)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(s) != 213360 {
		t.Fatalf("rate %d, %d samples; want 16000, 213360", rate, len(s))
	}
	for i, want := range []float32{-16, -14, -18} {
		if s[i] != want/32768 {
			t.Errorf("sample %d = %v, want %v", i, s[i], want/32768)
		}
	}
	peak := float32(0)
	for _, v := range s {
		if v < -1 || v > 1 {
			t.Fatalf("value %v outside [-1, 1]", v)
		}
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	if peak < 0.05 {
		t.Errorf("peak %v: no speech?", peak)
	}

	// Silero VAD windows: 213,360 / 512 = 416 full windows, 368 samples
	// left, which PadLast keeps as a 417th, zero-padded.
	for _, pad := range []bool{false, true} {
		r, err := AudioWindows([]string{p}, AudioOptions{Input: "input", Window: 512, PadLast: pad,
			Extra: map[string]*tensor.Tensor{"sr": tensor.Scalar(int64(16000))}})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := ReadAll(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want := 416
		if pad {
			want = 417
		}
		if len(ws) != want {
			t.Fatalf("pad=%v: %d windows, want %d", pad, len(ws), want)
		}
		last := tensor.As[float32](ws[len(ws)-1].Inputs["input"])
		if pad && (last[367] != s[416*512+367] || last[368] != 0 || last[511] != 0) {
			t.Errorf("padded window: %v %v %v", last[367], last[368], last[511])
		}
		x := ws[1].Inputs["input"]
		if !slices.Equal(x.Shape, []int{1, 512}) || tensor.As[float32](x)[0] != s[512] || ws[1].Name != filepath.Base(p)+"@512" {
			t.Errorf("window 1: %v %q", x, ws[1].Name)
		}
		if ws[0].Inputs["sr"] == nil {
			t.Error("extra input missing")
		}
	}

	// openWakeWord's mel model: 1280-sample windows at int16 scale, hop 640.
	r, err := AudioWindows([]string{p}, AudioOptions{Input: "input", Window: 1280, Hop: 640, Int16Scale: true})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	// Window starts 0, 640, ... while start+1280 <= 213,360: 332 windows.
	if len(ws) != 332 {
		t.Errorf("%d windows, want 332", len(ws))
	}
	if got := tensor.As[float32](ws[0].Inputs["input"])[:3]; !slices.Equal(got, []float32{-16, -14, -18}) {
		t.Errorf("int16 scale: %v", got)
	}
	if got := tensor.As[float32](ws[1].Inputs["input"])[0]; got != s[640]*32768 {
		t.Errorf("hop: %v", got)
	}
}

func TestWAVSynthesized(t *testing.T) {
	dir := t.TempDir()
	stereo := filepath.Join(dir, "stereo.wav")
	writeWAV(t, stereo, 2, 8000, 16, []int16{1000, 3000, -32768, -32768, 32767, 1})
	s, rate, err := ReadWAV(stereo)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{2000.0 / 32768, -1, 16384.0 / 32768}
	if rate != 8000 || !slices.Equal(s, want) {
		t.Errorf("stereo: rate %d, %v; want 8000, %v", rate, s, want)
	}

	// 48 kHz mono to a 16 kHz model: averaged in threes.
	hi := filepath.Join(dir, "48k.wav")
	writeWAV(t, hi, 1, 48000, 16, []int16{3, 6, 9, 30, 60, 90, 300, 600, 900, 1})
	r, err := AudioWindows([]string{hi}, AudioOptions{Input: "a", Window: 3, Shape: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	got := tensor.As[float32](readOne(t, r).Inputs["a"])
	if !slices.Equal(got, []float32{6.0 / 32768, 60.0 / 32768, 600.0 / 32768}) {
		t.Errorf("decimated %v", got)
	}

	// Errors name the file.
	eight := filepath.Join(dir, "8bit.wav")
	writeWAV(t, eight, 1, 16000, 8, []int16{1, 2, 3, 4})
	odd := filepath.Join(dir, "44k.wav")
	writeWAV(t, odd, 1, 44100, 16, []int16{1, 2, 3, 4})
	junk := filepath.Join(dir, "junk.wav")
	if err := os.WriteFile(junk, []byte("RIFF\x00\x00\x00\x00AVI "), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{eight, odd, junk} {
		r, err := AudioWindows([]string{p}, AudioOptions{Input: "a", Window: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next(context.Background())
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not name it", p, err)
		}
		t.Logf("%v", err)
	}
	if _, err := AudioWindows([]string{stereo}, AudioOptions{Input: "a", Window: 4, Shape: []int{1, 3}}); err == nil {
		t.Error("shape not holding the window: no error")
	}
}
