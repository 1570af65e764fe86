package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// sharedTokenizers returns ../shared/clip-reference/tokenizers relative to the
// repository root. It skips the test when the folder is missing, and fails it
// when CI=true.
func sharedTokenizers(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(root, "..", "shared", "clip-reference", "tokenizers")
	if _, err := os.Stat(filepath.Join(dir, "token-ids.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data ../shared is missing (%v); CI needs it", err)
		}
		t.Skipf("reference data ../shared is missing (%v); skipping", err)
	}
	return dir
}

// refCase is one reference string and its ids.
type refCase struct {
	Text string  `json:"text"`
	IDs  []int64 `json:"ids"`
}

// sharedCases reads ../shared/clip-reference/tokenizers/token-ids.json.
func sharedCases(t testing.TB) (clip, cn []refCase) {
	t.Helper()
	var ref struct {
		CLIP struct {
			ContextLength int       `json:"context_length"`
			Cases         []refCase `json:"cases"`
		} `json:"clip_bpe"`
		CN struct {
			ContextLength int       `json:"context_length"`
			Cases         []refCase `json:"cases"`
		} `json:"cn_wordpiece"`
	}
	readJSON(t, filepath.Join(sharedTokenizers(t), "token-ids.json"), &ref)
	if len(ref.CLIP.Cases) == 0 || len(ref.CN.Cases) == 0 {
		t.Fatal("token-ids.json has no cases")
	}
	return ref.CLIP.Cases, ref.CN.Cases
}

// extraCases reads testdata/extra-cases.json, made by testdata/reference.py
// from testdata/extra-strings.json.
func extraCases(t testing.TB) (clip, cn []refCase) {
	t.Helper()
	var ref struct {
		CLIP []refCase `json:"clip_bpe"`
		CN   []refCase `json:"cn_wordpiece"`
	}
	readJSON(t, filepath.Join("testdata", "extra-cases.json"), &ref)
	if len(ref.CLIP) == 0 || len(ref.CLIP) != len(ref.CN) {
		t.Fatal("extra-cases.json is empty or uneven")
	}
	return ref.CLIP, ref.CN
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

// loadShared loads the reference CLIP merges and Chinese-CLIP vocabulary
// through Load, once per test binary.
func loadShared(t testing.TB) (clip *BPE, cn *WordPiece) {
	t.Helper()
	dir := sharedTokenizers(t)
	sharedOnce.Do(func() {
		c, err := Load(filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz"))
		if err != nil {
			sharedErr = err
			return
		}
		w, err := Load(filepath.Join(dir, "chinese-clip-vocab.txt"))
		if err != nil {
			sharedErr = err
			return
		}
		sharedCLIP, sharedCN = c.(*BPE), w.(*WordPiece)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCLIP, sharedCN
}

var (
	sharedOnce sync.Once
	sharedErr  error
	sharedCLIP *BPE
	sharedCN   *WordPiece
)
