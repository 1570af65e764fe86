package local

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/cliprag/cliprag/retriever"
)

// A record's payload is stored in a compact binary form: strings are bytes
// with a length (so a path that is not UTF-8 round-trips exactly), numbers
// are varints, times are seconds and nanoseconds since 1970 (read back in
// UTC: the instant is kept, the zone is not).
//
//	version 2 | stamp u32 | id | path | sha256 | format | folder | model | tag set |
//	text by | size | mtime | indexed_at | width | height | tags: n, (label, score f32)* |
//	text: n, (text, confidence f32, box: 8 varints x0 y0 … x3 y3)*
//
// Version 1 (written before OCR) has neither text by nor text; it is read
// as a record that was never read for text.

const payloadVersion = 2

var errPayload = errors.New("corrupt payload")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// encodePayload encodes a record's id and payload, with the stamp of the
// commit that writes it.
func encodePayload(b []byte, stamp uint32, id string, p *retriever.Payload) []byte {
	b = append(b, payloadVersion)
	b = binary.LittleEndian.AppendUint32(b, stamp)
	for _, s := range [...]string{id, p.Path, p.SHA256, p.Format, p.Folder, p.Model, p.TagSet, p.TextBy} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, p.Size)
	b = appendTime(b, p.ModTime)
	b = appendTime(b, p.IndexedAt)
	b = binary.AppendVarint(b, int64(p.Width))
	b = binary.AppendVarint(b, int64(p.Height))
	b = binary.AppendUvarint(b, uint64(len(p.Tags)))
	for _, tg := range p.Tags {
		b = appendString(b, tg.Label)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(tg.Score))
	}
	b = binary.AppendUvarint(b, uint64(len(p.Text)))
	for _, l := range p.Text {
		b = appendString(b, l.Text)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(l.Confidence))
		for _, pt := range l.Box {
			b = binary.AppendVarint(b, int64(pt[0]))
			b = binary.AppendVarint(b, int64(pt[1]))
		}
	}
	return b
}

// payloadReader decodes an encoded payload field by field.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errPayload, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errPayload, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errPayload, nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *payloadReader) string() string { return string(r.bytes()) }

func (r *payloadReader) u32() uint32 {
	if len(r.b) < 4 {
		r.err, r.b = errPayload, nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *payloadReader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	return time.Unix(sec, int64(nsec)).UTC()
}

// header checks the version and returns it with the stamp.
func (r *payloadReader) header() (version byte, stamp uint32) {
	if len(r.b) < 1 || r.b[0] < 1 || r.b[0] > payloadVersion {
		r.err, r.b = errPayload, nil
		return 0, 0
	}
	version = r.b[0]
	r.b = r.b[1:]
	return version, r.u32()
}

// count reads a count of items that take at least min bytes each.
func (r *payloadReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.err, r.b = errPayload, nil
		return 0
	}
	return int(n)
}

// decodePayload decodes what encodePayload wrote.
func decodePayload(b []byte) (stamp uint32, id string, p retriever.Payload, err error) {
	r := payloadReader{b: b}
	var version byte
	version, stamp = r.header()
	id = r.string()
	p.Path, p.SHA256, p.Format, p.Folder, p.Model, p.TagSet = r.string(), r.string(), r.string(), r.string(), r.string(), r.string()
	if version >= 2 {
		p.TextBy = r.string()
	}
	p.Size = r.varint()
	p.ModTime = r.time()
	p.IndexedAt = r.time()
	p.Width, p.Height = int(r.varint()), int(r.varint())
	if n := r.count(5); n > 0 {
		p.Tags = make([]retriever.Tag, n)
		for i := range p.Tags {
			p.Tags[i].Label = r.string()
			p.Tags[i].Score = math.Float32frombits(r.u32())
		}
	}
	if version >= 2 {
		p.Text = r.lines()
	}
	return stamp, id, p, r.err
}

// lines reads the text lines of a version-2 payload.
func (r *payloadReader) lines() []retriever.TextLine {
	n := r.count(13) // text length, confidence, eight varints
	if n == 0 {
		return nil
	}
	out := make([]retriever.TextLine, n)
	for i := range out {
		l := &out[i]
		l.Text = r.string()
		l.Confidence = math.Float32frombits(r.u32())
		for j := range l.Box {
			l.Box[j] = [2]int{int(r.varint()), int(r.varint())}
		}
	}
	return out
}

// decodeFileEntry decodes the fields of a payload that FileEntry holds.
func decodeFileEntry(b []byte) (retriever.FileEntry, error) {
	r := payloadReader{b: b}
	version, _ := r.header()
	e := retriever.FileEntry{ID: r.string(), Path: r.string(), SHA256: r.string()}
	r.bytes() // format
	r.bytes() // folder
	r.bytes() // model
	e.TagSet = r.string()
	if version >= 2 {
		e.TextBy = r.string()
	}
	e.Size = r.varint()
	e.ModTime = r.time()
	return e, r.err
}
