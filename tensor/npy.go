package tensor

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The .npy format (NumPy's NEP 1): the magic "\x93NUMPY", a major and minor
// version byte, a little-endian header length (2 bytes in version 1, 4 bytes
// in versions 2 and 3), then the header: a Python dict literal with the keys
// 'descr' (the dtype string such as '<f4'), 'fortran_order' and 'shape' (a
// tuple), padded with spaces and ended by a newline. The raw elements follow.

const npyMagic = "\x93NUMPY"

// directReadLimit is the largest payload read straight into a newly
// allocated tensor when the stream's length is unknown; larger payloads are
// read in chunks first, so a corrupt header cannot make the reader allocate
// more memory than the stream actually holds.
var directReadLimit = 256 << 20

// npyType describes one element type of the .npy dtype strings we support.
type npyType struct {
	dt        DataType
	size      int
	bigEndian bool
}

// parseDescr maps a NumPy dtype string such as '<f4' to a DataType.
func parseDescr(descr string) (npyType, error) {
	s := descr
	order := byte('<')
	if len(s) > 0 && strings.IndexByte("<>|=", s[0]) >= 0 {
		order, s = s[0], s[1:]
	}
	var dt DataType
	switch s {
	case "b1", "?":
		dt = Bool
	case "i1", "b":
		dt = Int8
	case "u1", "B":
		dt = Uint8
	case "i2":
		dt = Int16
	case "u2":
		dt = Uint16
	case "i4":
		dt = Int32
	case "u4":
		dt = Uint32
	case "i8":
		dt = Int64
	case "u8":
		dt = Uint64
	case "f2", "e":
		dt = Float16
	case "f4", "f":
		dt = Float32
	case "f8", "d":
		dt = Float64
	default:
		return npyType{}, fmt.Errorf("%w: numpy dtype %q", ErrUnsupportedType, descr)
	}
	size := dt.StorageBits() / 8
	if order == '|' && size != 1 {
		return npyType{}, fmt.Errorf("dtype %q: byte order '|' on a %d-byte type", descr, size)
	}
	// '=' is the writer's native order, which the file does not record;
	// NumPy itself never writes it. Little-endian is by far the likelier.
	return npyType{dt: dt, size: size, bigEndian: order == '>'}, nil
}

// npyDescr returns the dtype string WriteNpy uses for dt.
func npyDescr(dt DataType) (string, error) {
	switch dt {
	case Bool:
		return "|b1", nil
	case Int8, Int4:
		return "|i1", nil
	case Uint8, Uint4:
		return "|u1", nil
	case Int16:
		return "<i2", nil
	case Uint16:
		return "<u2", nil
	case Int32:
		return "<i4", nil
	case Uint32:
		return "<u4", nil
	case Int64:
		return "<i8", nil
	case Uint64:
		return "<u8", nil
	case Float16:
		return "<f2", nil
	case Float32:
		return "<f4", nil
	case Float64:
		return "<f8", nil
	}
	return "", fmt.Errorf("%w %v in .npy", ErrUnsupportedType, dt)
}

// npyHeader is the parsed header dict.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int
}

// pyLexer reads the small subset of Python literal syntax used by .npy
// headers: dicts, tuples, quoted strings, integers, True and False.
type pyLexer struct {
	s   string
	pos int
}

func (l *pyLexer) skipSpace() {
	for l.pos < len(l.s) && strings.IndexByte(" \t\r\n", l.s[l.pos]) >= 0 {
		l.pos++
	}
}

func (l *pyLexer) peek() byte {
	l.skipSpace()
	if l.pos >= len(l.s) {
		return 0
	}
	return l.s[l.pos]
}

func (l *pyLexer) expect(c byte) error {
	if l.peek() != c {
		return fmt.Errorf("header: expected %q at offset %d", c, l.pos)
	}
	l.pos++
	return nil
}

func (l *pyLexer) str() (string, error) {
	q := l.peek()
	if q != '\'' && q != '"' {
		return "", fmt.Errorf("header: expected a string at offset %d", l.pos)
	}
	end := strings.IndexByte(l.s[l.pos+1:], q)
	if end < 0 {
		return "", errors.New("header: unterminated string")
	}
	v := l.s[l.pos+1 : l.pos+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", errors.New("header: escapes in strings are not supported")
	}
	l.pos += end + 2
	return v, nil
}

func (l *pyLexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+' {
			l.pos++
			continue
		}
		break
	}
	return l.s[start:l.pos]
}

func (l *pyLexer) shape() ([]int, error) {
	if err := l.expect('('); err != nil {
		return nil, err
	}
	shape := []int{}
	for {
		if l.peek() == ')' {
			l.pos++
			return shape, nil
		}
		w := strings.TrimSuffix(l.word(), "L") // Python 2 wrote long ints as 3L
		d, err := strconv.ParseInt(w, 10, 64)
		if err != nil || d < 0 || int64(int(d)) != d {
			return nil, fmt.Errorf("header: bad dimension %q in shape", w)
		}
		shape = append(shape, int(d))
		switch l.peek() {
		case ',':
			l.pos++
		case ')':
		default:
			return nil, fmt.Errorf("header: expected ',' or ')' in shape at offset %d", l.pos)
		}
	}
}

// parseNpyHeader parses the header dict.
func parseNpyHeader(s string) (npyHeader, error) {
	var h npyHeader
	l := &pyLexer{s: s}
	if err := l.expect('{'); err != nil {
		return h, err
	}
	seen := map[string]bool{}
	for l.peek() != '}' {
		key, err := l.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, fmt.Errorf("header: key %q repeated", key)
		}
		seen[key] = true
		if err := l.expect(':'); err != nil {
			return h, err
		}
		switch key {
		case "descr":
			if l.peek() == '[' {
				return h, fmt.Errorf("%w: structured numpy dtype", ErrUnsupportedType)
			}
			if h.descr, err = l.str(); err != nil {
				return h, err
			}
		case "fortran_order":
			switch w := l.word(); w {
			case "True":
				h.fortran = true
			case "False":
			default:
				return h, fmt.Errorf("header: fortran_order is %q", w)
			}
		case "shape":
			if h.shape, err = l.shape(); err != nil {
				return h, err
			}
		default:
			return h, fmt.Errorf("header: unexpected key %q", key)
		}
		switch l.peek() {
		case ',':
			l.pos++
		case '}':
		default:
			return h, fmt.Errorf("header: expected ',' or '}' at offset %d", l.pos)
		}
	}
	l.pos++
	if l.peek() != 0 {
		return h, fmt.Errorf("header: unexpected text after the dict at offset %d", l.pos)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("header: key %q missing", k)
		}
	}
	return h, nil
}

// ReadNpy reads one array in NumPy .npy format (versions 1.0, 2.0 and 3.0;
// little-endian, big-endian or byte-order-free dtypes bool, int8 to int64,
// uint8 to uint64, float16, float32 and float64; C order; any rank including
// 0). The tensor's type follows the dtype ('|b1' Bool, '<f2' Float16, ...).
func ReadNpy(r io.Reader) (*Tensor, error) {
	size := int64(-1)
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil {
				size = st.Size() - off
			}
		}
	}
	t, err := readNpy(r, size)
	if err != nil {
		return nil, fmt.Errorf("tensor: npy: %w", err)
	}
	return t, nil
}

// ReadNpyFile reads a .npy file (see ReadNpy); errors name the file.
func ReadNpyFile(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	t, err := readNpy(bufio.NewReaderSize(f, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("tensor: %s: %w", path, err)
	}
	return t, nil
}

// readNpy reads a .npy stream of size bytes (-1 when unknown).
func readNpy(r io.Reader, size int64) (*Tensor, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("reading magic: %w", noEOF(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, errors.New("not a .npy file (bad magic)")
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	consumed := int64(8)
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
		consumed += 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		consumed += 4
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d", major, minor)
	}
	if hlen > 1<<20 || (size >= 0 && consumed+hlen > size) {
		return nil, fmt.Errorf("header length %d exceeds the file", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("reading header: %w", noEOF(err))
	}
	consumed += hlen
	var hs string
	if major == 3 {
		if !utf8.Valid(hb) {
			return nil, errors.New("header is not valid UTF-8")
		}
		hs = string(hb)
	} else {
		// Versions 1 and 2 are Latin-1; the header grammar is ASCII anyway.
		rs := make([]rune, len(hb))
		for i, c := range hb {
			rs[i] = rune(c)
		}
		hs = string(rs)
	}
	h, err := parseNpyHeader(hs)
	if err != nil {
		return nil, err
	}
	if h.fortran {
		return nil, errors.New("fortran_order arrays are not supported (save with C order)")
	}
	nt, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range h.shape {
		if d != 0 && n > math.MaxInt/d {
			return nil, fmt.Errorf("shape %v overflows the element count", h.shape)
		}
		n *= d
	}
	if n > math.MaxInt/nt.size {
		return nil, fmt.Errorf("shape %v is too large", h.shape)
	}
	nbytes := n * nt.size
	if size >= 0 && int64(nbytes) > size-consumed {
		return nil, fmt.Errorf("truncated data: %d bytes for %s%v, %d present", nbytes, h.descr, h.shape, size-consumed)
	}
	var raw []byte
	if size < 0 && nbytes > directReadLimit {
		var buf bytes.Buffer
		got, err := io.CopyN(&buf, r, int64(nbytes))
		if err != nil {
			return nil, fmt.Errorf("truncated data: %d bytes for %s%v, %d present", nbytes, h.descr, h.shape, got)
		}
		raw = buf.Bytes()
	}
	t := &Tensor{DType: nt.dt, Shape: h.shape, Data: MakeSlice(nt.dt, n)}
	if len(h.shape) == 0 {
		t.Shape = nil
	}
	if nt.dt == Bool {
		if raw == nil {
			raw = make([]byte, nbytes)
			if got, err := io.ReadFull(r, raw); err != nil {
				return nil, fmt.Errorf("truncated data: %d bytes for %s%v, %d present", nbytes, h.descr, h.shape, got)
			}
		}
		bs := t.Data.([]bool)
		for i, c := range raw {
			bs[i] = c != 0
		}
		return t, nil
	}
	dst := dataBytes(t.Data)
	if raw != nil {
		copy(dst, raw)
	} else if got, err := io.ReadFull(r, dst); err != nil {
		return nil, fmt.Errorf("truncated data: %d bytes for %s%v, %d present", nbytes, h.descr, h.shape, got)
	}
	if nt.bigEndian == littleEndianHost {
		swapEach(dst, nt.size)
	}
	return t, nil
}

// noEOF turns a bare EOF into ErrUnexpectedEOF: inside a header it means
// the file is truncated.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// dataBytes returns the memory of a fixed-size element slice as bytes (no
// copy), or nil for bool and string slices.
func dataBytes(data any) []byte {
	switch s := data.(type) {
	case []float32:
		return bytesOf(s)
	case []float64:
		return bytesOf(s)
	case []F16:
		return bytesOf(s)
	case []BF16:
		return bytesOf(s)
	case []int8:
		return bytesOf(s)
	case []uint8:
		return bytesOf(s)
	case []int16:
		return bytesOf(s)
	case []uint16:
		return bytesOf(s)
	case []int32:
		return bytesOf(s)
	case []uint32:
		return bytesOf(s)
	case []int64:
		return bytesOf(s)
	case []uint64:
		return bytesOf(s)
	}
	return nil
}

// npyHeaderBytes returns the magic, version, length and padded header for t.
func npyHeaderBytes(descr string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(descr)
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteString(",")
	}
	sb.WriteString("), }")
	dict := sb.String()

	// Pad with spaces so that the data starts on a 64-byte boundary; the
	// header ends with a newline.
	pre := 10 // magic, version, uint16 length
	major := byte(1)
	if len(dict)+1+pre+64 > math.MaxUint16 {
		pre, major = 12, 2
	}
	total := pre + len(dict) + 1
	pad := (64 - total%64) % 64
	hlen := len(dict) + pad + 1

	out := make([]byte, 0, pre+hlen)
	out = append(out, npyMagic...)
	out = append(out, major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen))
	}
	out = append(out, dict...)
	out = append(out, bytes.Repeat([]byte{' '}, pad)...)
	return append(out, '\n')
}

// WriteNpy writes t in .npy format version 1.0 (2.0 for headers too long for
// 1.0), little-endian, C order. Int4 and Uint4 tensors are written as int8
// and uint8 ('|i1', '|u1'), NumPy having no 4-bit type. BFloat16 and string
// tensors are not supported.
func WriteNpy(w io.Writer, t *Tensor) error {
	if err := writeNpy(w, t); err != nil {
		return fmt.Errorf("tensor: npy: %w", err)
	}
	return nil
}

func writeNpy(w io.Writer, t *Tensor) error {
	if t == nil {
		return errors.New("nil tensor")
	}
	if err := t.Check(); err != nil {
		return err
	}
	descr, err := npyDescr(t.DType)
	if err != nil {
		return err
	}
	if _, err := w.Write(npyHeaderBytes(descr, t.Shape)); err != nil {
		return err
	}
	var body []byte
	if bs, ok := t.Data.([]bool); ok {
		body = make([]byte, len(bs))
		for i, v := range bs {
			if v {
				body[i] = 1
			}
		}
	} else {
		body = dataBytes(t.Data)
		if !littleEndianHost {
			body = append([]byte(nil), body...)
			swapEach(body, t.DType.StorageBits()/8)
		}
	}
	_, err = w.Write(body)
	return err
}

// WriteNpyFile writes t to path in .npy format (see WriteNpy), atomically:
// the data goes to a temporary file in the same folder that is then renamed
// over path.
func WriteNpyFile(path string, t *Tensor) error {
	return writeFileAtomic(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<16)
		if err := writeNpy(bw, t); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// ReadNpz reads a NumPy .npz archive (a zip of .npy members, stored or
// deflated, as written by numpy.savez and numpy.savez_compressed). It
// returns the arrays keyed by member name without the ".npy" suffix, and
// the keys in archive order. Errors name the file and the member.
func ReadNpz(path string) (map[string]*Tensor, []string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tensor: %s: %w", path, err)
	}
	defer zr.Close()
	out := make(map[string]*Tensor, len(zr.File))
	var keys []string
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue // a folder entry
		}
		key, ok := strings.CutSuffix(zf.Name, ".npy")
		if !ok {
			return nil, nil, fmt.Errorf("tensor: %s: member %q is not a .npy file", path, zf.Name)
		}
		if _, dup := out[key]; dup {
			return nil, nil, fmt.Errorf("tensor: %s: member %q appears twice", path, zf.Name)
		}
		t, err := readNpzMember(zf)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor: %s: member %q: %w", path, zf.Name, err)
		}
		out[key] = t
		keys = append(keys, key)
	}
	return out, keys, nil
}

func readNpzMember(zf *zip.File) (*Tensor, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	size := int64(-1)
	if zf.UncompressedSize64 <= math.MaxInt64 {
		size = int64(zf.UncompressedSize64)
	}
	t, err := readNpy(bufio.NewReaderSize(rc, 1<<16), size)
	if err != nil {
		return nil, err
	}
	// Reading to the end lets archive/zip verify the member's checksum.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, err
	}
	return t, nil
}
