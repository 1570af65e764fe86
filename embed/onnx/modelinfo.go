package onnx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	ort "github.com/yalue/onnxruntime_go"
)

// readModelIO reads a model's graph inputs and outputs straight from the ONNX
// protobuf, seeking past the weights, so that opening a session does not
// load the model twice. Inputs that are initializers (old exports list
// weights as inputs) are left out, as ONNX Runtime does.
func readModelIO(r io.ReadSeeker) (ins, outs []TensorInfo, err error) {
	allIns, outs, inits, err := readGraphIO(r)
	if err != nil {
		return nil, nil, err
	}
	for _, in := range allIns {
		if !inits[in.Name] {
			ins = append(ins, in)
		}
	}
	return ins, outs, nil
}

// readGraphIO returns the graph's declared inputs and outputs and the names
// of its initializers.
func readGraphIO(r io.ReadSeeker) (allIns, outs []TensorInfo, inits map[string]bool, err error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, nil, err
	}
	p := &pbReader{r: r, br: bufio.NewReaderSize(r, 64<<10)}
	// ModelProto: field 7 is the graph.
	var graphStart, graphLen int64 = -1, 0
	err = p.fields(size, func(num int, wt int, n int64) error {
		if num == 7 && wt == 2 {
			graphStart, graphLen = p.pos, n
		}
		return p.skip(wt, n)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if graphStart < 0 {
		return nil, nil, nil, errors.New("no graph in model")
	}
	if err := p.seek(graphStart); err != nil {
		return nil, nil, nil, err
	}
	inits = map[string]bool{}
	err = p.fields(graphStart+graphLen, func(num int, wt int, n int64) error {
		switch {
		case (num == 11 || num == 12) && wt == 2:
			b, err := p.bytes(n, 1<<20)
			if err != nil {
				return err
			}
			ti, err := parseValueInfo(b)
			if err != nil {
				return err
			}
			if num == 11 {
				allIns = append(allIns, ti)
			} else {
				outs = append(outs, ti)
			}
			return nil
		case num == 5 && wt == 2: // initializer TensorProto: name is field 8
			name, err := p.tensorName(p.pos + n)
			if err != nil {
				return err
			}
			inits[name] = true
			return nil
		}
		return p.skip(wt, n)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return allIns, outs, inits, nil
}

// readModelIOFile is readModelIO on a file.
func readModelIOFile(path string) ([]TensorInfo, []TensorInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readModelIO(f)
}

type pbReader struct {
	r   io.ReadSeeker
	br  *bufio.Reader
	pos int64
}

var errTruncated = errors.New("truncated protobuf")

func (p *pbReader) seek(pos int64) error {
	if _, err := p.r.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	p.br.Reset(p.r)
	p.pos = pos
	return nil
}

func (p *pbReader) varint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := p.br.ReadByte()
		if err != nil {
			return 0, errTruncated
		}
		p.pos++
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("bad varint")
}

// fields calls f for each field up to end; for wire type 2, n is the length
// and f must consume or skip it; for the others f must call skip.
func (p *pbReader) fields(end int64, f func(num, wt int, n int64) error) error {
	for p.pos < end {
		tag, err := p.varint()
		if err != nil {
			return err
		}
		num, wt := int(tag>>3), int(tag&7)
		var n int64
		if wt == 2 {
			l, err := p.varint()
			if err != nil {
				return err
			}
			if int64(l) < 0 || p.pos+int64(l) > end {
				return errTruncated
			}
			n = int64(l)
		}
		if err := f(num, wt, n); err != nil {
			return err
		}
	}
	if p.pos != end {
		return errTruncated
	}
	return nil
}

func (p *pbReader) skip(wt int, n int64) error {
	switch wt {
	case 0:
		_, err := p.varint()
		return err
	case 1:
		n = 8
	case 5:
		n = 4
	case 2:
	default:
		return fmt.Errorf("unsupported wire type %d", wt)
	}
	if n <= int64(p.br.Buffered()) {
		_, err := p.br.Discard(int(n))
		p.pos += n
		return err
	}
	return p.seek(p.pos + n)
}

func (p *pbReader) bytes(n, limit int64) ([]byte, error) {
	if n > limit {
		return nil, fmt.Errorf("field of %d bytes too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.br, b); err != nil {
		return nil, errTruncated
	}
	p.pos += n
	return b, nil
}

// tensorName reads a TensorProto up to end and returns its name (field 8).
func (p *pbReader) tensorName(end int64) (string, error) {
	var name string
	err := p.fields(end, func(num, wt int, n int64) error {
		if num == 8 && wt == 2 {
			b, err := p.bytes(n, 1<<16)
			name = string(b)
			return err
		}
		return p.skip(wt, n)
	})
	return name, err
}

// msg iterates over the fields of an in-memory protobuf message.
func msg(b []byte, f func(num, wt int, v uint64, sub []byte) error) error {
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return errTruncated
		}
		b = b[n:]
		num, wt := int(tag>>3), int(tag&7)
		var v uint64
		var sub []byte
		switch wt {
		case 0:
			v, n = uvarint(b)
			if n <= 0 {
				return errTruncated
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errTruncated
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return errTruncated
			}
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errTruncated
			}
			sub = b[n : n+int(l)]
			b = b[n+int(l):]
		default:
			return fmt.Errorf("unsupported wire type %d", wt)
		}
		if err := f(num, wt, v, sub); err != nil {
			return err
		}
	}
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// parseValueInfo decodes a ValueInfoProto: name, and for tensors element type
// and shape.
func parseValueInfo(b []byte) (TensorInfo, error) {
	var t TensorInfo
	err := msg(b, func(num, wt int, _ uint64, sub []byte) error {
		switch {
		case num == 1 && wt == 2:
			t.Name = string(sub)
		case num == 2 && wt == 2: // TypeProto
			return msg(sub, func(num, wt int, _ uint64, sub []byte) error {
				switch {
				case num == 1 && wt == 2: // tensor_type
					return parseTensorType(sub, &t)
				case num == 4 && wt == 2:
					t.Type = "sequence"
				case num == 5 && wt == 2:
					t.Type = "map"
				case num == 9 && wt == 2:
					t.Type = "optional"
				case num == 8 && wt == 2:
					t.Type = "sparse_tensor"
				}
				return nil
			})
		}
		return nil
	})
	if err == nil && t.Name == "" {
		err = errors.New("value info without a name")
	}
	return t, err
}

func parseTensorType(b []byte, t *TensorInfo) error {
	t.Shape = nil
	return msg(b, func(num, wt int, v uint64, sub []byte) error {
		switch {
		case num == 1 && wt == 0:
			t.Type = typeName(ort.TensorElementDataType(v))
		case num == 2 && wt == 2: // TensorShapeProto
			t.Shape = []int64{}
			return msg(sub, func(num, wt int, _ uint64, sub []byte) error {
				if num != 1 || wt != 2 {
					return nil
				}
				d := int64(-1)
				err := msg(sub, func(num, wt int, v uint64, _ []byte) error {
					if num == 1 && wt == 0 && int64(v) > 0 {
						d = int64(v)
					}
					return nil
				})
				t.Shape = append(t.Shape, d)
				return err
			})
		}
		return nil
	})
}

// ReadModelIO returns the inputs and outputs of the ONNX model file at path,
// read from its protobuf (the weights are skipped, not loaded). It needs no
// runtime; models whose graph it cannot read are left to a session.
func ReadModelIO(path string) (ins, outs []TensorInfo, err error) {
	return readModelIOFile(path)
}

// ReadModelIOBytes is ReadModelIO on a model held in memory.
func ReadModelIOBytes(data []byte) (ins, outs []TensorInfo, err error) {
	return readModelIO(bytes.NewReader(data))
}
