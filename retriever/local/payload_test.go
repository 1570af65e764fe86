package local

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/cliprag/cliprag/retriever"
)

// TestNonUTF8PathsSurviveReopen: a path that is not UTF-8 is written to
// disk and read back byte for byte (json.Marshal alone would turn each
// invalid byte into U+FFFD, so ingest would see a new file on every run).
func TestNonUTF8PathsSurviveReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 8}); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(3, 0, 3, 8)
	paths := []struct{ folder, path string }{
		{"/img/caf\xe9", "/img/caf\xe9/cr\xe8me.jpg"},
		{"/img/\xff", "/img/\xff/\x83\x4c\x83\x83.png"},
		{"/img/ok", `/img/ok/literal \xe9.jpg`},
	}
	for i, p := range paths {
		recs[i].Payload.Path, recs[i].Payload.Folder = p.path, p.folder
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, nil)
	got, err := s2.Get(ctx, []string{recs[0].ID, recs[1].ID, recs[2].ID})
	if err != nil || len(got) != 3 {
		t.Fatalf("Get = %d, %v", len(got), err)
	}
	for i, r := range got {
		if r.Payload.Path != paths[i].path || r.Payload.Folder != paths[i].folder {
			t.Errorf("after reopen: path %q folder %q, want %q %q", r.Payload.Path, r.Payload.Folder, paths[i].path, paths[i].folder)
		}
	}
	err = s2.Files(ctx, func(e retriever.FileEntry) error {
		for i, r := range recs {
			if r.ID == e.ID && e.Path != paths[i].path {
				t.Errorf("Files after reopen: %q, want %q", e.Path, paths[i].path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := s2.Search(ctx, recs[1].Vector, 3, retriever.Filter{FolderPrefix: "/img/\xff"})
	if err != nil || len(hits) != 1 || hits[0].ID != recs[1].ID {
		t.Fatalf("search in a non-UTF-8 folder after reopen = %+v, %v", hits, err)
	}
}

// TestPayloadVersion1: a payload written before OCR (version 1: no text
// by, no text) still decodes, as a record never read for text.
func TestPayloadVersion1(t *testing.T) {
	p := retriever.Payload{Path: "/a/b.jpg", SHA256: "ab", Format: "jpeg", Folder: "/a", Model: "m", TagSet: "ts",
		Size: 42, Width: 3, Height: 4, Tags: []retriever.Tag{{Label: "cat", Score: 0.5}}}
	// encodePayload as it was at version 1.
	b := []byte{1}
	b = binary.LittleEndian.AppendUint32(b, 7)
	for _, s := range []string{"id1", p.Path, p.SHA256, p.Format, p.Folder, p.Model, p.TagSet} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, p.Size)
	b = appendTime(b, p.ModTime)
	b = appendTime(b, p.IndexedAt)
	b = binary.AppendVarint(b, int64(p.Width))
	b = binary.AppendVarint(b, int64(p.Height))
	b = binary.AppendUvarint(b, 1)
	b = appendString(b, "cat")
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(0.5))

	stamp, id, got, err := decodePayload(b)
	if err != nil || stamp != 7 || id != "id1" {
		t.Fatalf("decode v1 = stamp %d id %q err %v", stamp, id, err)
	}
	got.ModTime, got.IndexedAt = p.ModTime, p.IndexedAt
	if !reflect.DeepEqual(got, p) {
		t.Errorf("v1 payload:\n got %+v\nwant %+v", got, p)
	}
	e, err := decodeFileEntry(b)
	if err != nil || e.ID != "id1" || e.Path != p.Path || e.TagSet != "ts" || e.TextBy != "" || e.Size != 42 {
		t.Errorf("v1 file entry = %+v, %v", e, err)
	}
}

// TestPayloadCorrupt: truncated or inflated payloads are errors, not panics
// or huge allocations.
func TestPayloadCorrupt(t *testing.T) {
	p := retriever.Payload{Path: "/a.png", TextBy: "ocr", Text: []retriever.TextLine{{Text: "hello", Confidence: 0.5, Box: [4][2]int{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}}}
	b := encodePayload(nil, 1, "id", &p)
	for n := range len(b) {
		if _, _, _, err := decodePayload(b[:n]); err == nil {
			t.Errorf("decode of %d of %d bytes: no error", n, len(b))
		}
	}
	_, _, got, err := decodePayload(b)
	if err != nil || !reflect.DeepEqual(got.Text, p.Text) || got.TextBy != "ocr" {
		t.Errorf("decode = %+v, %v", got, err)
	}
}
