package local

import (
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
