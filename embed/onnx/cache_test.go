package onnx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSessionCache opens a model with a cache directory three times: the
// first open writes the ORT format copy and runs on it, memory-mapped, as
// the second does, and after the copy is corrupted the third removes it,
// writes a good copy again and runs on that. All compute the same as a
// session without the cache.
func TestSessionCache(t *testing.T) {
	initRuntime(t)
	dir := t.TempDir()
	model := filepath.Join(t.TempDir(), "matmul.onnx")
	b, err := os.ReadFile(filepath.Join("testdata", "matmul.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	x := []float32{1, -2, 0.5, 3, 0, 1, 2, -1}
	wantY, _ := matmulRef(x, 2)
	cached, err := cachedPath(dir, model)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, wantMapped bool) {
		t.Helper()
		s, err := NewSessionFromFile(model, SessionOptions{Threads: 1, CacheDir: dir})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer s.Close()
		if mapped := s.release != nil; mapped != wantMapped {
			t.Errorf("%s: mapped %v, want %v", name, mapped, wantMapped)
		}
		out, err := s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{2, 4}, Float32: x}}, []string{"y"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !closeTo(out["y"].Float32, wantY, 1e-5) {
			t.Errorf("%s: y = %v, want %v", name, out["y"].Float32, wantY)
		}
		if st, err := os.Stat(cached); err != nil || st.Size() == 0 {
			t.Errorf("%s: no copy at %s: %v", name, cached, err)
		}
	}
	check("first open writes the copy", true)
	check("second open maps it", true)
	if err := os.WriteFile(cached, []byte("not an ORT model"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a corrupt copy is replaced", true)
	check("and the new copy maps", true)

	// CacheNoWrite uses the copy but writes none.
	other := t.TempDir()
	s, err := NewSessionFromFile(model, SessionOptions{Threads: 1, CacheDir: other, CacheNoWrite: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if entries, _ := os.ReadDir(filepath.Join(other, "ort")); len(entries) != 0 {
		t.Errorf("CacheNoWrite wrote %d files", len(entries))
	}

	// A changed model gets a copy of its own.
	if err := os.WriteFile(model, append(b, 0), 0o644); err == nil {
		if other, err := cachedPath(dir, model); err != nil || other == cached {
			t.Errorf("changed model: copy %s (%v), want a new name", other, err)
		}
	}
}
