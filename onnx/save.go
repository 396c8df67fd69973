package onnx

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxProtoSize is the largest model file protobuf can hold in one message
// (2 GiB - 1 bytes). Save moves tensors to external data to stay under it.
const MaxProtoSize = 1<<31 - 1

// AutoExternalThreshold is the smallest tensor, in bytes, that Save moves to
// external data when a model would exceed MaxProtoSize and the caller set
// no threshold. It follows the ONNX tools' usual 1 KiB.
const AutoExternalThreshold = 1024

// ExternalDataAlignment is the alignment, in bytes, of every tensor's offset
// in an external data file written by Save, so that the data can be mapped
// into memory page by page. The gaps are zero bytes.
const ExternalDataAlignment = 4096

// SaveOptions controls Save.
type SaveOptions struct {
	// Input is the path of the model the caller read, if any. Save refuses
	// to write the model or its external data over that file (os.SameFile,
	// so hard and symbolic links count).
	Input string

	// ExternalDataThreshold decides which tensors go to the external data
	// file. A positive value moves every tensor whose data takes at least
	// that many bytes; zero moves none. In both cases, if the model would
	// still exceed MaxProtoSize, every tensor of at least
	// min(threshold, AutoExternalThreshold) bytes moves. A negative value
	// keeps all data inline and makes a model over the limit an error.
	// STRING tensors always stay inline.
	ExternalDataThreshold int64

	// ExternalDataName is the file name of the external data, in the same
	// folder as the model; the default is the model's file name with
	// ".data" appended ("model.onnx" -> "model.onnx.data"). It must be a
	// plain file name, without a folder. The file is written only when some
	// tensor goes external.
	ExternalDataName string
}

// rename is os.Rename; tests replace it to make a save fail late.
var rename = os.Rename

// Save writes m to path as a deterministic protobuf encoding: a model
// loaded and saved unmodified gives the bytes it was read from. The
// encoding goes to the file piece by piece (tensor data straight from m),
// so saving takes little memory beyond m itself. The file is
// replaced atomically: the bytes go to a temporary file in the same folder,
// which is synced, closed and renamed over path; on any error the temporary
// file is removed and path is left as it was.
//
// Tensors chosen by opts.ExternalDataThreshold are written, as raw
// little-endian bytes at offsets aligned to ExternalDataAlignment, to the
// external data file (same atomic procedure; the data file is renamed into
// place just before the model, so the pair is not replaced as one unit).
// Tensors held in typed fields (float_data, int32_data, ...) are converted
// to raw bytes. Save does not modify m: tensors moved out are replaced in a
// shallow copy of the messages that lead to them.
//
// Tensors that are already external (loaded with SkipExternalData) are
// written as they are: their locations stay relative to the model's
// folder, so they remain valid only if the model is saved to the folder
// their data files are in. Save refuses to write a data file one of them
// reads from.
func Save(m *ModelProto, path string, opts SaveOptions) error {
	if m == nil {
		return fmt.Errorf("onnx: save %s: nil model", path)
	}
	if path == "" {
		return errors.New("onnx: save: empty output path")
	}
	if opts.Input != "" && sameFile(opts.Input, path) {
		return fmt.Errorf("onnx: save %s: refusing to overwrite the input model %s", path, opts.Input)
	}
	dir := filepath.Dir(path)
	dataName := opts.ExternalDataName
	if dataName == "" {
		dataName = filepath.Base(path) + ".data"
	}
	if dataName != filepath.Base(dataName) || dataName == "." || dataName == ".." {
		return fmt.Errorf("onnx: save %s: external data name %q must be a plain file name", path, dataName)
	}

	moves, existing, err := planExternal(m, opts.ExternalDataThreshold)
	if err != nil {
		return fmt.Errorf("onnx: save %s: %w", path, err)
	}
	out := proto.Message(m)
	var data *atomicFile
	if len(moves) > 0 {
		dataPath := filepath.Join(dir, dataName)
		if filepath.Clean(dataPath) == filepath.Clean(path) || sameFile(dataPath, path) {
			return fmt.Errorf("onnx: save %s: external data file %s is the model file itself", path, dataPath)
		}
		if opts.Input != "" && sameFile(opts.Input, dataPath) {
			return fmt.Errorf("onnx: save %s: refusing to overwrite the input model %s with external data", path, opts.Input)
		}
		for _, loc := range existing {
			native, err := checkLocation(loc)
			if err != nil {
				continue // not a file Save could write
			}
			if ref := filepath.Join(dir, native); filepath.Clean(ref) == filepath.Clean(dataPath) || sameFile(ref, dataPath) {
				return fmt.Errorf("onnx: save %s: external data file %s holds data of tensors still external; choose another ExternalDataName", path, dataPath)
			}
		}
		var repl map[*TensorProto]*TensorProto
		data, repl, err = writeExternal(moves, dataPath, dataName)
		if err != nil {
			return fmt.Errorf("onnx: save %s: %w", path, err)
		}
		defer data.abort()
		out = replaceTensors(m.ProtoReflect(), repl).Interface()
	}
	size := proto.Size(out)
	if size > MaxProtoSize {
		return fmt.Errorf("onnx: save %s: the model takes %d bytes, over protobuf's limit of %d; use external data (SaveOptions.ExternalDataThreshold)", path, size, MaxProtoSize)
	}
	mf, err := createAtomic(path)
	if err != nil {
		return fmt.Errorf("onnx: save %s: %w", path, err)
	}
	defer mf.abort()
	// The encoding goes to the file as it is made, never whole in memory.
	bw := bufio.NewWriterSize(mf.f, 1<<20)
	if err := encodeTo(bw, out.ProtoReflect(), size); err != nil {
		return fmt.Errorf("onnx: save %s: write %s: %w", path, mf.f.Name(), err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("onnx: save %s: write %s: %w", path, mf.f.Name(), err)
	}
	if err := mf.finish(); err != nil {
		return fmt.Errorf("onnx: save %s: %w", path, err)
	}
	if data != nil {
		if err := data.commit(); err != nil {
			return fmt.Errorf("onnx: save %s: %w", path, err)
		}
	}
	if err := mf.commit(); err != nil {
		return fmt.Errorf("onnx: save %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

// move is a tensor chosen to go to external data.
type move struct {
	t     *TensorProto
	where string
	size  int64
}

// planExternal lists, in model order, the tensors to move to external data
// under threshold, and the locations of tensors already external.
func planExternal(m *ModelProto, threshold int64) ([]move, []string, error) {
	var cands []move
	var existing []string
	seen := map[*TensorProto]bool{}
	err := walkModel(m, &walker{tensor: func(w *walker, t *TensorProto) error {
		if t.GetDataLocation() == TensorProto_EXTERNAL {
			if info, err := parseExternal(t); err == nil {
				existing = append(existing, info.location)
			}
			return nil
		}
		if seen[t] || t.GetDataType() == int32(TensorProto_STRING) || t.Segment != nil ||
			(t.RawData == nil && !hasTypedData(t)) {
			return nil
		}
		seen[t] = true
		size, err := tensorByteSize(t.Dims, t.GetDataType())
		if err != nil {
			return nil // not movable; stays inline as it is
		}
		cands = append(cands, move{t: t, where: w.where(), size: size})
		return nil
	}})
	if err != nil {
		return nil, nil, err
	}
	if threshold < 0 {
		return nil, existing, nil
	}
	total := int64(proto.Size(m))
	var moves []move
	if threshold > 0 {
		moves = pick(cands, threshold)
	}
	// What is left inline, estimated: each moved tensor saves its encoded
	// size but for a few hundred bytes of name, shape and external_data.
	left := total
	for _, mv := range moves {
		left -= int64(proto.Size(mv.t)) - movedOverhead
	}
	if left > MaxProtoSize {
		moves = pick(cands, min(threshold, AutoExternalThreshold))
	}
	return moves, existing, nil
}

// movedOverhead is a generous size of what an external tensor keeps inline.
const movedOverhead = 256

// pick returns the candidates of at least threshold bytes (threshold 0
// counts as AutoExternalThreshold).
func pick(cands []move, threshold int64) []move {
	if threshold <= 0 {
		threshold = AutoExternalThreshold
	}
	var out []move
	for _, c := range cands {
		if c.size >= threshold {
			out = append(out, c)
		}
	}
	return out
}

// writeExternal writes the data of moves to a temporary file for dataPath
// (synced and closed, not yet renamed) and returns it with, for each moved
// tensor, the external tensor that replaces it.
func writeExternal(moves []move, dataPath, location string) (*atomicFile, map[*TensorProto]*TensorProto, error) {
	af, err := createAtomic(dataPath)
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			af.abort()
		}
	}()
	bw := bufio.NewWriterSize(af.f, 1<<20)
	var pad [ExternalDataAlignment]byte
	var off int64
	repl := make(map[*TensorProto]*TensorProto, len(moves))
	for _, mv := range moves {
		raw, err := rawBytes(mv.t)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", mv.where, err)
		}
		if r := off % ExternalDataAlignment; r != 0 {
			if _, err := bw.Write(pad[:ExternalDataAlignment-r]); err != nil {
				return nil, nil, fmt.Errorf("write %s: %w", af.f.Name(), err)
			}
			off += ExternalDataAlignment - r
		}
		if _, err := bw.Write(raw); err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", af.f.Name(), err)
		}
		nt := shallowCopy(mv.t.ProtoReflect()).Interface().(*TensorProto)
		nt.RawData = nil
		nt.FloatData, nt.Int32Data, nt.Int64Data = nil, nil, nil
		nt.DoubleData, nt.Uint64Data = nil, nil
		nt.ExternalData = []*StringStringEntryProto{
			{Key: proto.String(extLocation), Value: proto.String(location)},
			{Key: proto.String(extOffset), Value: proto.String(strconv.FormatInt(off, 10))},
			{Key: proto.String(extLength), Value: proto.String(strconv.Itoa(len(raw)))},
		}
		nt.DataLocation = TensorProto_EXTERNAL.Enum()
		repl[mv.t] = nt
		off += int64(len(raw))
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, fmt.Errorf("write %s: %w", af.f.Name(), err)
	}
	if err := af.finish(); err != nil {
		return nil, nil, err
	}
	ok = true
	return af, repl, nil
}

// holdsTensors caches whether messages of a type can contain a TensorProto.
var holdsTensors = map[protoreflect.FullName]bool{}

// mayHoldTensor reports whether a message of type md can contain a
// TensorProto at any depth.
func mayHoldTensor(md protoreflect.MessageDescriptor) bool {
	tensorName := (*TensorProto)(nil).ProtoReflect().Descriptor().FullName()
	var visit func(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool
	visit = func(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
		if md.FullName() == tensorName {
			return true
		}
		if seen[md.FullName()] {
			return false
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			if sub := fields.Get(i).Message(); sub != nil && visit(sub, seen) {
				return true
			}
		}
		return false
	}
	return visit(md, map[protoreflect.FullName]bool{})
}

func init() {
	// Fill the cache once so that concurrent Saves only read it.
	fds := File_onnx_proto.Messages()
	var add func(mds protoreflect.MessageDescriptors)
	add = func(mds protoreflect.MessageDescriptors) {
		for i := 0; i < mds.Len(); i++ {
			md := mds.Get(i)
			holdsTensors[md.FullName()] = mayHoldTensor(md)
			add(md.Messages())
		}
	}
	add(fds)
}

// replaceTensors returns m with the tensors in repl replaced, copying (one
// level deep) only the messages on the paths to them; everything else is
// shared with m, which is not modified.
func replaceTensors(m protoreflect.Message, repl map[*TensorProto]*TensorProto) protoreflect.Message {
	out, _ := replaceIn(m, repl)
	return out
}

func replaceIn(m protoreflect.Message, repl map[*TensorProto]*TensorProto) (protoreflect.Message, bool) {
	if t, ok := m.Interface().(*TensorProto); ok {
		if r, ok := repl[t]; ok {
			return r.ProtoReflect(), true
		}
		return m, false
	}
	if !holdsTensors[m.Descriptor().FullName()] {
		return m, false
	}
	type change struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var changes []change
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() || !holdsTensors[fd.Message().FullName()] {
			return true
		}
		if fd.IsList() {
			l := v.List()
			var nl protoreflect.List
			for i := 0; i < l.Len(); i++ {
				e, changed := replaceIn(l.Get(i).Message(), repl)
				if changed && nl == nil {
					nl = m.NewField(fd).List()
					for j := 0; j < i; j++ {
						nl.Append(l.Get(j))
					}
				}
				if nl != nil {
					nl.Append(protoreflect.ValueOfMessage(e))
				}
			}
			if nl != nil {
				changes = append(changes, change{fd, protoreflect.ValueOfList(nl)})
			}
			return true
		}
		if e, changed := replaceIn(v.Message(), repl); changed {
			changes = append(changes, change{fd, protoreflect.ValueOfMessage(e)})
		}
		return true
	})
	if len(changes) == 0 {
		return m, false
	}
	n := shallowCopy(m)
	for _, c := range changes {
		n.Set(c.fd, c.v)
	}
	return n, true
}

// shallowCopy returns a new message of m's type whose fields and unknown
// bytes are those of m, shared rather than copied.
func shallowCopy(m protoreflect.Message) protoreflect.Message {
	n := m.New()
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		n.Set(fd, v)
		return true
	})
	if u := m.GetUnknown(); len(u) > 0 {
		n.SetUnknown(u)
	}
	return n
}

// atomicFile is a temporary file that replaces final when committed.
type atomicFile struct {
	f      *os.File
	final  string
	closed bool
	done   bool
}

// createAtomic creates a temporary file in final's folder, with the mode
// final has if it exists and 0644 otherwise.
func createAtomic(final string) (*atomicFile, error) {
	if st, err := os.Stat(final); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", final)
	}
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(final); err == nil {
		mode = st.Mode().Perm()
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	return &atomicFile{f: f, final: final}, nil
}

// finish syncs and closes the temporary file.
func (a *atomicFile) finish() error {
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", a.f.Name(), err)
	}
	a.closed = true
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", a.f.Name(), err)
	}
	return nil
}

// commit renames the finished temporary file over the final path.
func (a *atomicFile) commit() error {
	if err := rename(a.f.Name(), a.final); err != nil {
		return fmt.Errorf("rename %s to %s: %w", a.f.Name(), a.final, err)
	}
	a.done = true
	return nil
}

// abort removes the temporary file unless it was committed.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	if !a.closed {
		a.f.Close()
		a.closed = true
	}
	os.Remove(a.f.Name())
	a.done = true
}

// syncDir flushes the folder entry of a rename to disk, where the system
// allows it; failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
