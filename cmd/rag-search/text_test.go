package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// ocrModels returns the folder of the real OCR models; without it the
// test skips, or fails under CI=true.
func ocrModels(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(toolstest.EnvOCRModels)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OCR models needed: set %s", toolstest.EnvOCRModels)
		}
		t.Skipf("OCR models needed: set %s (eval \"export $(scripts/ocrmodels.sh)\")", toolstest.EnvOCRModels)
	}
	return dir
}

func TestText(t *testing.T) {
	dir := ocrModels(t)
	f := shared.Get(t)
	figure := filepath.Join("..", "..", "embed", "ocr", "testdata", "figure-0.png")
	shape := filepath.Join(f.images, "red-circle.png") // indexed, never read: read now
	t.Run("json", func(t *testing.T) {
		r := rs(t, "text", "--store", f.store, "--ocr-model", dir, "--json", figure, shape)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		objs := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(objs) != 2 {
			t.Fatalf("%d lines of output, want one per image:\n%s", len(objs), r.stdout)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(objs[0]), &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 2 || raw["path"] == nil || raw["lines"] == nil {
			t.Errorf("keys of %s, want path and lines", objs[0])
		}
		var lines []map[string]json.RawMessage
		if err := json.Unmarshal(raw["lines"], &lines); err != nil || len(lines) == 0 {
			t.Fatalf("lines %s: %v", raw["lines"], err)
		}
		for _, l := range lines {
			var keys []string
			for k := range l {
				keys = append(keys, k)
			}
			if len(keys) != 3 || l["text"] == nil || l["confidence"] == nil || l["box"] == nil {
				t.Errorf("line keys %v, want text, confidence, box", keys)
			}
		}
		var first struct {
			Path  string
			Lines []tools.TextLine
		}
		if err := json.Unmarshal([]byte(objs[0]), &first); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(figure)
		if first.Path != abs || first.Lines[0].Text != "断裂体系叠合图" || first.Lines[0].Confidence < 0.9 || first.Lines[0].Box[2][0] <= first.Lines[0].Box[0][0] {
			t.Errorf("figure: %+v", first)
		}
		if objs[1] != `{"path":"`+shape+`","lines":[]}` {
			t.Errorf("shape: %s", objs[1])
		}
	})
	t.Run("table", func(t *testing.T) {
		r := rs(t, "text", "--store", f.store, "--ocr-model", dir, figure, shape)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		rs := rows(r.stdout)
		if !reflect.DeepEqual(rs[1], []string{"LINE", "CONF", "BOX", "TEXT"}) || rs[2][0] != "1" || rs[2][3] != "断裂体系叠合图" {
			t.Errorf("table:\n%s", r.stdout)
		}
		if !strings.HasSuffix(r.stdout, "red-circle.png\n  (no text)\n") {
			t.Errorf("the shape's entry:\n%s", r.stdout)
		}
	})
}

func TestTextErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.png")
	store := filepath.Join(t.TempDir(), "index")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no image", []string{"text"}, exitUsage, "give at least one IMAGE"},
		{"missing file", []string{"text", "--store", store, missing}, exitFile, "no such file"},
		{"id without an index", []string{"text", "--store", store, "00000000-0000-5000-8000-000000000000"}, exitIndex, "no index"},
		{"models offline", []string{"text", "--store", store, "--offline", "--cache-dir", t.TempDir(), filepath.Join("..", "..", "examples", "shapes", "red-circle.png")}, exitError, "OCR models missing and downloads are off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rs(t, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, c.code, c.want)
			}
		})
	}
}

// TestSearchMode: --mode is checked, and a hit's text is a table column.
func TestSearchMode(t *testing.T) {
	f := shared.Get(t)
	for mode, code := range map[string]int{"clip": exitOK, "hybrid": exitOK, "ocr": exitUsage} {
		r := rs(t, withModel("search", "--store", f.store, "--mode", mode, "red circle")...)
		if r.code != code {
			t.Errorf("--mode %s: exit %d, want %d: %s", mode, r.code, code, r.stderr)
		}
	}
	var b bytes.Buffer
	c := &common{json: new(bool)}
	out := tools.SearchOutput{Hits: []tools.Hit{
		{Rank: 1, Path: "/a.png", Width: 2, Height: 2, Text: "断裂体系叠合图\nFigure 3. Fault system overlay map\n" + strings.Repeat("x", 80)},
		{Rank: 2, Path: "/b.png", Width: 2, Height: 2},
	}}
	if err := printHits(&env{stdout: &b, stderr: &b}, c, out); err != nil {
		t.Fatal(err)
	}
	rs := rows(b.String())
	if rs[0][len(rs[0])-1] != "TEXT" || !strings.HasPrefix(rs[1][4], "断裂体系叠合图 / Figure 3. Fault system overlay map / xx") || !strings.HasSuffix(rs[1][4], "…") || len(rs[2]) != 4 {
		t.Errorf("table:\n%s", b.String())
	}
}
