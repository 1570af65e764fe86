package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/hub"
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
