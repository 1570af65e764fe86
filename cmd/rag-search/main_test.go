package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// fixture is a folder of drawn shapes indexed into a local store.
type fixture struct {
	images string // folder of images (resolved)
	store  string // index directory
	empty  string // an index directory with a collection and no images
	wrong  string // an index built "with another model"
	bad    string // a file that is not an image
	labels []string
}

var shared = toolstest.Shared[*fixture]{Build: buildFixture}

func TestMain(m *testing.M) { toolstest.Main(m, &shared) }

// buildFixture draws one 224×224 image per class of the tiny model's
// domain (shape at 0.6 of the side on a plain background), plus a copy
// with a Chinese file name, and indexes them. Tests get it, built once per
// test binary, from shared.Get.
func buildFixture(ctx context.Context, m toolstest.Encoder, base string) (*fixture, error) {
	f := &fixture{
		images: filepath.Join(base, "shapes"), store: filepath.Join(base, "index"),
		empty: filepath.Join(base, "empty"), wrong: filepath.Join(base, "wrong"),
		bad: filepath.Join(base, "broken.jpg"), labels: tinyshapes.Classes(),
	}
	rng := rand.New(rand.NewSource(1))
	if _, err := toolstest.DrawSet(f.images, toolstest.DrawOptions{
		Rand: rng, Draw: tinyshapes.DrawOptions{Width: 224, Height: 224, Scale: 0.6, Background: tinyshapes.BackgroundPlain},
	}); err != nil {
		return nil, err
	}
	// A second green triangle, with a Chinese file name.
	img, err := tinyshapes.Render(rng, "green", "triangle", tinyshapes.DrawOptions{Width: 300, Height: 200})
	if err != nil {
		return nil, err
	}
	if err := tinyshapes.WriteFile(filepath.Join(f.images, "绿色三角形.png"), img); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.bad, []byte("this is not a JPEG"), 0o644); err != nil {
		return nil, err
	}
	st, err := toolstest.Index(ctx, m, f.store, ingest.Options{Paths: []string{f.images}}, 21)
	if err != nil {
		return nil, err
	}
	st.Close()
	for dir, model := range map[string]string{f.empty: m.ID(), f.wrong: "other-model"} {
		st, err := local.Open(dir, nil)
		if err != nil {
			return nil, err
		}
		err = st.Ensure(ctx, retriever.Collection{Model: model, Dim: m.Dim()})
		st.Close()
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// result is what one run printed.
type result struct {
	code           int
	stdout, stderr string
}

// rs runs rag-search in-process with the test model and args.
func rs(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// withModel inserts --model after the command name.
func withModel(args ...string) []string {
	return append([]string{args[0], "--model", toolstest.ModelRef()}, args[1:]...)
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
}

// rows splits table output into rows of fields (split on 2+ spaces).
func rows(s string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		var cells []string
		for _, c := range strings.Split(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
		out = append(out, cells)
	}
	return out
}

func TestSearch(t *testing.T) {
	f := shared.Get(t)
	t.Run("table", func(t *testing.T) {
		r := rs(t, withModel("search", "--store", f.store, "a photo of a red circle")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		rs := rows(r.stdout)
		if !reflect.DeepEqual(rs[0], []string{"RANK", "SCORE", "SIZE", "PATH"}) {
			t.Errorf("header %q", rs[0])
		}
		if len(rs) != 1+DefaultTopK {
			t.Fatalf("%d rows, want %d:\n%s", len(rs)-1, DefaultTopK, r.stdout)
		}
		if rs[1][0] != "1" || rs[1][2] != "224×224" || filepath.Base(rs[1][3]) != "red-circle.png" {
			t.Errorf("first row %q, want red-circle.png ranked 1", rs[1])
		}
	})
	t.Run("json flags after the query", func(t *testing.T) {
		var out tools.SearchOutput
		rs(t, withModel("search", "--store", f.store, "a", "photo", "of", "a", "red", "circle", "--top-k", "3", "--json")...).json(t, &out)
		if out.Query != "a photo of a red circle" || len(out.Hits) != 3 {
			t.Fatalf("query %q, %d hits", out.Query, len(out.Hits))
		}
		if filepath.Base(out.Hits[0].Path) != "red-circle.png" || !filepath.IsAbs(out.Hits[0].Path) {
			t.Errorf("top hit %s, want the absolute path of red-circle.png", out.Hits[0].Path)
		}
		for i, h := range out.Hits {
			if h.Rank != i+1 || h.ID == "" || h.Width != 224 || (i > 0 && h.Score > out.Hits[i-1].Score) {
				t.Errorf("hit %d: %+v", i, h)
			}
		}
	})
	t.Run("min-score and folder filters", func(t *testing.T) {
		var all, some tools.SearchOutput
		rs(t, withModel("search", "--store", f.store, "--json", "--top-k", "21", "a red circle")...).json(t, &all)
		cut := all.Hits[len(all.Hits)/2].Score
		rs(t, withModel("search", "--store", f.store, "--json", "--top-k", "21", "--min-score", fmt.Sprint(cut), "a red circle")...).json(t, &some)
		if len(some.Hits) == 0 || len(some.Hits) >= len(all.Hits) {
			t.Errorf("--min-score %v kept %d of %d", cut, len(some.Hits), len(all.Hits))
		}
		var none tools.SearchOutput
		rs(t, withModel("search", "--store", f.store, "--json", "--folder", filepath.Join(f.images, "nowhere"), "a red circle")...).json(t, &none)
		if len(none.Hits) != 0 {
			t.Errorf("--folder outside the images kept %d hits", len(none.Hits))
		}
	})
}

func TestSimilar(t *testing.T) {
	f := shared.Get(t)
	q := filepath.Join(f.images, "blue-square.png")
	var out tools.SearchOutput
	rs(t, withModel("similar", "--store", f.store, "--json", "--top-k", "3", q)...).json(t, &out)
	if len(out.Hits) != 3 {
		t.Fatalf("%d hits", len(out.Hits))
	}
	for _, h := range out.Hits {
		if h.Path == q {
			t.Errorf("the query image is among its own results")
		}
	}
	if !strings.HasPrefix(filepath.Base(out.Hits[0].Path), "blue-") {
		t.Errorf("most similar to a blue square: %s, want another blue shape", out.Hits[0].Path)
	}
	// By id: the indexed image is left out too.
	var byID tools.SearchOutput
	rs(t, withModel("similar", "--store", f.store, "--json", "--top-k", "20", "image://"+out.Hits[0].ID)...).json(t, &byID)
	if len(byID.Hits) != 20 {
		t.Errorf("by id: %d hits, want 20", len(byID.Hits))
	}
	for _, h := range byID.Hits {
		if h.ID == out.Hits[0].ID {
			t.Errorf("by id: the query image is among its own results")
		}
	}
	r := rs(t, withModel("similar", "--store", f.store, q)...)
	if r.code != 0 || !strings.Contains(r.stdout, "RANK") {
		t.Errorf("table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestClassify(t *testing.T) {
	f := shared.Get(t)
	img := filepath.Join(f.images, "blue-square.png")
	labels := strings.Join(f.labels, ",")
	tests := []struct {
		name  string
		args  []string
		first string // expected best label; "" to skip
		n     int
	}{
		{"20 classes", []string{"--labels", labels}, "blue square", 20},
		{"labels file", []string{"--labels-file", writeLabels(t, f.labels)}, "blue square", 20},
		{"template", []string{"--labels", labels, "--template", "a photo of a {}."}, "blue square", 20},
		{"two templates", []string{"--labels", labels, "--template", "a photo of a {}.", "--template", "a {}"}, "blue square", 20},
		{"top-k", []string{"--labels", labels, "--top-k", "3"}, "blue square", 3},
		{"chinese labels", []string{"--labels", "断裂体系叠合图,构造图，沉积图,顶面构造图"}, "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Image  string            `json:"image"`
				Labels []tools.LabelProb `json:"labels"`
			}
			args := append(withModel("classify", "--json", img), tt.args...)
			rs(t, args...).json(t, &out)
			if len(out.Labels) != tt.n {
				t.Fatalf("%d labels, want %d", len(out.Labels), tt.n)
			}
			if tt.first != "" && out.Labels[0].Label != tt.first {
				t.Errorf("best label %q, want %q (%+v)", out.Labels[0].Label, tt.first, out.Labels[:3])
			}
			sum := 0.0
			for i, l := range out.Labels {
				sum += l.Probability
				if i > 0 && l.Probability > out.Labels[i-1].Probability {
					t.Errorf("labels not best first: %+v", out.Labels)
				}
			}
			if tt.n == len(out.Labels) && tt.name != "top-k" && math.Abs(sum-1) > 1e-4 {
				t.Errorf("probabilities sum to %v", sum)
			}
		})
	}
	t.Run("table aligns CJK labels", func(t *testing.T) {
		r := rs(t, withModel("classify", img, "--labels", "断裂体系叠合图,构造图,沉积图,顶面构造图,square")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(lines) != 6 {
			t.Fatalf("%d lines:\n%s", len(lines), r.stdout)
		}
		col := -1
		for _, l := range lines[1:] {
			i := strings.Index(l, "0.")
			if i < 0 {
				i = strings.Index(l, "1.")
			}
			w := displayWidth(l[:i])
			if col >= 0 && w != col {
				t.Errorf("probability column at %d, want %d:\n%s", w, col, r.stdout)
			}
			col = w
		}
		if col != displayWidth("断裂体系叠合图")+2 {
			t.Errorf("column at %d, want after the widest label", col)
		}
	})
}

func writeLabels(t *testing.T, labels []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "labels.txt")
	content := "# the tiny model's classes\n\n" + strings.Join(labels, "\n") + "\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompare(t *testing.T) {
	f := shared.Get(t)
	a := filepath.Join(f.images, "red-circle.png")
	tests := []struct {
		name   string
		b      string
		lo, hi float64
	}{
		{"identical file", a, 0.9999, 1.0001},
		{"other image", filepath.Join(f.images, "purple-cross.png"), -1, 0.9999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				A, B       string
				Cosine     float64
				Similarity float64
			}
			rs(t, withModel("compare", "--json", a, tt.b)...).json(t, &out)
			if out.Cosine < tt.lo || out.Cosine > tt.hi {
				t.Errorf("cosine %v, want %v to %v", out.Cosine, tt.lo, tt.hi)
			}
			if math.Abs(out.Similarity-(out.Cosine+1)/2) > 1e-6 {
				t.Errorf("similarity %v is not (cosine+1)/2 of %v", out.Similarity, out.Cosine)
			}
			if out.A != a {
				t.Errorf("a = %q", out.A)
			}
		})
	}
	// A byte copy outside the indexed folder (compare needs no index).
	cp := filepath.Join(t.TempDir(), "副本.png")
	data, err := os.ReadFile(filepath.Join(f.images, "green-triangle.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var same struct{ Cosine float64 }
	rs(t, withModel("compare", "--json", filepath.Join(f.images, "green-triangle.png"), cp)...).json(t, &same)
	if same.Cosine < 0.9999 {
		t.Errorf("copies compare at %v", same.Cosine)
	}
	r := rs(t, withModel("compare", a, a)...)
	rs := rows(r.stdout)
	if r.code != 0 || len(rs) != 4 || rs[2][0] != "cosine" || rs[2][1] != "1.0000" {
		t.Errorf("table: exit %d %q", r.code, rs)
	}
}

func TestStats(t *testing.T) {
	f := shared.Get(t)
	var out tools.StatsOutput
	rs(t, withModel("stats", "--store", f.store, "--json")...).json(t, &out)
	if out.Images != 21 || out.Dim <= 0 || len(out.Roots) != 1 || out.Roots[0] != f.images {
		t.Errorf("stats %+v", out)
	}
	r := rs(t, withModel("stats", "--store", f.store)...)
	if r.code != 0 || !strings.Contains(r.stdout, "images   21") {
		t.Errorf("table: exit %d\n%s", r.code, r.stdout)
	}
	var empty tools.StatsOutput
	rs(t, withModel("stats", "--store", f.empty, "--json")...).json(t, &empty)
	if empty.Images != 0 {
		t.Errorf("empty index: %+v", empty)
	}
}

func TestDir(t *testing.T) {
	f := shared.Get(t)
	missing := filepath.Join(t.TempDir(), "no-index-here")
	r := rs(t, withModel("search", "--store", missing, "--dir", f.images, "--json", "a photo of a red circle")...)
	var out tools.SearchOutput
	r.json(t, &out)
	if filepath.Base(out.Hits[0].Path) != "red-circle.png" {
		t.Errorf("--dir top hit %s", out.Hits[0].Path)
	}
	if !strings.Contains(r.stderr, "encoded 21 images in ") {
		t.Errorf("stderr does not say how long encoding took:\n%s", r.stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("--dir created the index %s", missing)
	}
	q := filepath.Join(f.images, "green-triangle.png")
	var sim tools.SearchOutput
	r = rs(t, withModel("similar", "--dir", f.images, "--json", "--quiet", "--top-k", "20", q)...)
	r.json(t, &sim)
	if len(sim.Hits) != 20 || r.stderr != "" {
		t.Errorf("--dir similar: %d hits, stderr %q", len(sim.Hits), r.stderr)
	}
	for _, h := range sim.Hits {
		if h.Path == q {
			t.Error("--dir similar: the query is among its results")
		}
	}
}

func TestGrid(t *testing.T) {
	f := shared.Get(t)
	dir := t.TempDir()
	// Cells are 224 px thumbnails with two 21 px caption lines under a 6 px
	// gap (272 px tall), 16 px apart and from the edges; ceil(sqrt(k+1))
	// columns.
	tests := []struct {
		k    int
		args []string
		w, h int
	}{
		{1, []string{"search", "--store", f.store, "a red circle"}, 16 + 224 + 16 + 224 + 16, 16 + 272 + 16},
		{3, []string{"similar", "--store", f.store, filepath.Join(f.images, "绿色三角形.png")}, 16 + 2*224 + 16 + 16, 16 + 2*272 + 16 + 16},
		{7, []string{"search", "--dir", f.images, "--quiet", "顶面构造图"}, 16 + 3*224 + 2*16 + 16, 16 + 3*272 + 2*16 + 16},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("k=", tt.k), func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprintf("k%d.png", tt.k))
			args := append(withModel(tt.args...), "--top-k", fmt.Sprint(tt.k), "--grid", p)
			r := rs(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			fh, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			img, err := png.Decode(fh)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Errorf("sheet is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
			// The first result's thumbnail is drawn: a coloured pixel in its box.
			if !hasColour(img, 16+224+16, 16, 224) {
				t.Error("first result's box has no image")
			}
			if os.Getenv("RAG_SEARCH_KEEP_GRIDS") != "" {
				data, _ := os.ReadFile(p)
				_ = os.WriteFile(filepath.Join(os.TempDir(), filepath.Base(p)), data, 0o644)
			}
		})
	}
}

// hasColour reports whether the n×n box at x, y holds a saturated pixel
// (the drawn shapes are; the sheet's background and bars are grey).
func hasColour(img image.Image, x, y, n int) bool {
	for yy := y; yy < y+n; yy += 2 {
		for xx := x; xx < x+n; xx += 2 {
			r, g, b, _ := img.At(xx, yy).RGBA()
			hi, lo := max(r, g, b)>>8, min(r, g, b)>>8
			if hi-lo > 80 {
				return true
			}
		}
	}
	return false
}

func TestErrors(t *testing.T) {
	f := shared.Get(t)
	img := filepath.Join(f.images, "red-circle.png")
	nowhere := filepath.Join(t.TempDir(), "nowhere")
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of the one stderr line
	}{
		{"no command", nil, exitUsage, []string{"Usage: rag-search"}},
		{"unknown command", []string{"serch", "cat"}, exitUsage, []string{`unknown command "serch"`}},
		{"flags before command", []string{"--top-k", "3", "search", "x"}, exitUsage, []string{"put the command first"}},
		{"unknown flag", withModel("search", "--bogus", "x"), exitUsage, []string{"-bogus", "rag-search help search"}},
		{"no query", withModel("search", "--store", f.store), exitUsage, []string{"no QUERY"}},
		{"top-k 0", withModel("search", "--store", f.store, "--top-k", "0", "x"), exitUsage, []string{"--top-k"}},
		{"top-k too big", withModel("similar", "--store", f.store, "--top-k", "101", img), exitUsage, []string{"--top-k"}},
		{"min-score out of range", withModel("search", "--store", f.store, "--min-score", "2", "x"), exitUsage, []string{"--min-score"}},
		{"grid not png", withModel("search", "--store", f.store, "--grid", "x.jpg", "x"), exitUsage, []string{"PNG"}},
		{"unknown file", withModel("similar", "--store", f.store, "nope.jpg"), exitFile, []string{"no such file: nope.jpg"}},
		{"unknown file compare", withModel("compare", img, "nope.png"), exitFile, []string{"no such file: nope.png"}},
		{"folder as image", withModel("classify", f.images, "--labels", "a"), exitFile, []string{"is a folder"}},
		{"unreadable image", withModel("classify", f.bad, "--labels", "a,b"), exitFile, []string{"cannot read image", "broken.jpg"}},
		{"unreadable image compare", withModel("compare", img, f.bad), exitFile, []string{"cannot read image"}},
		{"unreadable image templates", withModel("classify", f.bad, "--labels", "a,b", "--template", "a {}", "--template", "b {}"), exitFile, []string{"cannot read image"}},
		{"empty index", withModel("search", "--store", f.empty, "x"), exitIndex, []string{"the index at " + f.empty + " is empty: run rag-ingest FOLDER first"}},
		{"missing index", withModel("similar", "--store", nowhere, img), exitIndex, []string{"the index at " + nowhere + " is empty"}},
		{"missing index stats", withModel("stats", "--store", nowhere), exitIndex, []string{"no index at " + nowhere}},
		{"wrong model", withModel("search", "--store", f.wrong, "x"), exitIndex, []string{`"other-model"`, `"` + toolstest.ModelRef()}},
		{"no labels", withModel("classify", img), exitUsage, []string{"--labels"}},
		{"duplicate label", withModel("classify", img, "--labels", "a,b,a"), exitUsage, []string{`"a" is given twice`}},
		{"template without braces", withModel("classify", img, "--labels", "a,b", "--template", "a photo"), exitUsage, []string{"--template", "{}"}},
		{"labels file missing", withModel("classify", img, "--labels-file", nowhere), exitUsage, []string{"--labels-file"}},
		{"compare one image", withModel("compare", img), exitUsage, []string{"give two images, got 1 argument"}},
		{"dir missing", withModel("search", "--dir", nowhere, "x"), exitFile, []string{"no such folder"}},
		{"dir empty", withModel("search", "--dir", t.TempDir(), "x"), exitIndex, []string{"no readable images"}},
		{"unknown id", withModel("similar", "--store", f.store, "00000000-0000-0000-0000-000000000000"), exitUsage, []string{"no indexed image has id"}},
		{"bad model", []string{"search", "--model", nowhere, "--store", f.store, "x"}, exitError, []string{"load " + nowhere + ": not a registry model"}},
		{"help unknown", []string{"help", "nope"}, exitUsage, []string{`unknown command "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rs(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not contain %q", r.stderr, w)
				}
			}
			if tt.args != nil && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			if p := repeatedPrefix(r.stderr); p != "" {
				t.Errorf("stderr repeats %q (each layer adds only its own context): %s", p, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on error:\n%s", r.stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"Usage: rag-search COMMAND", "search QUERY", "Exit status"}},
		{[]string{"--help"}, []string{"Usage: rag-search COMMAND"}},
		{[]string{"help", "search"}, []string{"Usage: rag-search search [flags] QUERY", "-top-k", "-dir", "-grid", "-model", "Examples:"}},
		{[]string{"classify", "-h"}, []string{"Usage: rag-search classify", "-labels-file", "-template"}},
		{[]string{"compare", "--help"}, []string{"IMAGE_A IMAGE_B"}},
		{[]string{"version"}, []string{"rag-search"}},
	}
	for _, tt := range tests {
		r := rs(t, tt.args...)
		if r.code != 0 {
			t.Errorf("%q: exit %d", tt.args, r.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: stdout lacks %q:\n%s", tt.args, w, r.stdout)
			}
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		k    int
		json bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, 5, false},
		{[]string{"--top-k", "3", "a"}, []string{"a"}, 3, false},
		{[]string{"a", "--top-k", "3", "b", "--json"}, []string{"a", "b"}, 3, true},
		{[]string{"a", "--", "--top-k", "3"}, []string{"a", "--top-k", "3"}, 5, false},
		{[]string{"--json", "--", "-x"}, []string{"-x"}, 5, true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		k := fs.Int("top-k", 5, "")
		j := fs.Bool("json", false, "")
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if !reflect.DeepEqual(pos, tt.pos) || *k != tt.k || *j != tt.json {
			t.Errorf("%q: pos %q k %d json %v", tt.args, pos, *k, *j)
		}
	}
}

func TestDisplayWidthAndTable(t *testing.T) {
	tests := []struct {
		s string
		w int
	}{
		{"abc", 3},
		{"构造图", 6},
		{"断裂体系叠合图", 14},
		{"ｆｕｌｌ", 8},
		{"「」", 4},
		{"e\u0301", 1},
		{"×", 1},
		{"カナ", 4},
	}
	for _, tt := range tests {
		if got := displayWidth(tt.s); got != tt.w {
			t.Errorf("displayWidth(%q) = %d, want %d", tt.s, got, tt.w)
		}
	}
	tb := &table{}
	tb.add("LABEL", "P")
	tb.add("构造图", "1")
	tb.add("abc", "2")
	tb.add("断裂体系叠合图", "3")
	var b bytes.Buffer
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "LABEL           P\n构造图          1\nabc             2\n断裂体系叠合图  3\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestIndexRemembersModel: without --model, readers use the model the index
// was built with; stats loads no model at all. The cache is empty and the
// network off, so a reader that fell back to the default model
// (clip-vit-b-32, a download) would fail.
func TestIndexRemembersModel(t *testing.T) {
	f := shared.Get(t)
	t.Setenv("CLIPRAG_MODEL", "")
	os.Unsetenv("CLIPRAG_MODEL")
	t.Setenv("CLIPRAG_CACHE", t.TempDir())
	t.Setenv("CLIPRAG_OFFLINE", "true")

	r := rs(t, "stats", "--store", f.store, "--json")
	var st tools.StatsOutput
	r.json(t, &st)
	if st.Model != toolstest.ModelRef() || st.Images != 21 {
		t.Errorf("stats without --model: %+v", st)
	}
	r = rs(t, "stats", "--store", f.store, "--model", "/no/such/model")
	if r.code != 0 {
		t.Errorf("stats loads a model: exit %d, %s", r.code, r.stderr)
	}

	r = rs(t, "search", "--store", f.store, "--top-k", "1", "--json", "a photo of a red circle")
	var out tools.SearchOutput
	r.json(t, &out)
	if len(out.Hits) != 1 {
		t.Fatalf("search without --model: %+v", out)
	}
	r = rs(t, "similar", "--store", f.store, "--top-k", "1", filepath.Join(f.images, "red-circle.png"))
	if r.code != 0 {
		t.Errorf("similar without --model: exit %d, %s", r.code, r.stderr)
	}

	// An index of a model that is not in the registry asks for it.
	r = rs(t, "search", "--store", f.wrong, "x")
	if r.code != exitIndex || !strings.Contains(r.stderr, `"other-model"`) || !strings.Contains(r.stderr, "--model DIR") {
		t.Errorf("index of an unknown model: exit %d, %s", r.code, r.stderr)
	}
	// A model that is given and differs is still the error it was.
	r = rs(t, withModel("search", "--store", f.wrong, "x")...)
	if r.code != exitIndex || !strings.Contains(r.stderr, `"other-model"`) || !strings.Contains(r.stderr, `"`+toolstest.ModelRef()) {
		t.Errorf("given model differs: exit %d, %s", r.code, r.stderr)
	}
}

// TestOfflineModelMissing: a registry model that is not in the cache, with
// downloads off, is explained in a few lines (issue 13 item 6): a short
// first line, then the files, the folder, the URL once and --model DIR,
// and exit status 1.
func TestOfflineModelMissing(t *testing.T) {
	cache := t.TempDir()
	img := filepath.Join("..", "..", "examples", "shapes", "red-circle.png")
	r := rs(t, "compare", "--model", "clip-vit-b-32", "--offline", "--cache-dir", cache, img, img)
	if r.code != exitError {
		t.Errorf("exit %d, want %d", r.code, exitError)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("stderr has %d lines, want 5:\n%s", len(lines), r.stderr)
	}
	for i, want := range []string{"rag-search: load clip-vit-b-32: model files missing", "files:  config.json", "folder: " + cache, "from:   https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/", "--model DIR"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i+1, lines[i], want)
		}
	}
	if len(lines[0]) > 120 || strings.Count(r.stderr, "https://") != 1 || strings.Contains(r.stderr, "%3C") {
		t.Errorf("want a short first line and the URL once, unescaped:\n%s", r.stderr)
	}
}

// repeatedPrefix returns a "word arg: " context that occurs twice in msg
// ("decode /x.jpg: decode /x.jpg: ..."), or "".
func repeatedPrefix(msg string) string {
	parts := strings.Split(msg, ": ")
	seen := map[string]bool{}
	for _, p := range parts {
		if f := strings.Fields(p); len(f) >= 1 && len(p) > 3 {
			if seen[p] {
				return p
			}
			seen[p] = true
		}
	}
	// The same file named twice with different verbs ("cannot read image X: decode X: ...").
	for _, w := range strings.Fields(msg) {
		w = strings.TrimSuffix(w, ":")
		if strings.HasPrefix(w, "/") && strings.Count(msg, w+":") > 1 {
			return w
		}
	}
	return ""
}

func TestRepeatedPrefix(t *testing.T) {
	for msg, want := range map[string]string{
		"rag-search: load clip: load clip: boom":                           "load clip",
		"rag-search: cannot read image /a.png: decode /a.png: corrupt":     "/a.png",
		"rag-search: cannot read image /a.png: corrupt or truncated image": "",
	} {
		if got := repeatedPrefix(msg); got != want {
			t.Errorf("repeatedPrefix(%q) = %q, want %q", msg, got, want)
		}
	}
}
