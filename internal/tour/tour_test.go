package tour

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the documents' outputs with what the commands print now (scripts/tour.sh)")

// Docs are the documents whose console sessions TestDocs runs, relative to
// the repository root.
var Docs = []string{"README.md", "examples/mcp/README.md", "examples/langchaingo-rag/README.md"}

// Dir is where the sessions run: a fixed folder, so that the absolute paths
// commands print are the same on every machine. It holds a copy of
// examples/ and an empty docs/.
const Dir = "/tmp/cliprag-tour"

func TestParse(t *testing.T) {
	doc := "# T\n\n```console\n$ echo a \\\n    b\na b\n$ true\n```\n\n<!-- tour: skip -->\n```console\n$ date\nMon\n```\n```sh\n$ not a session\n```\n<!-- tour: ocr -->\n```console\n$ rag-search text x.png\n```\n"
	got := Parse([]byte(doc))
	if len(got) != 2 || got[0].OCR || !got[1].OCR {
		t.Fatalf("%d sessions, want 2, the second needing OCR: %+v", len(got), got)
	}
	s := got[0]
	if s.Start != 3 || s.End != 8 || len(s.Commands) != 2 {
		t.Fatalf("session %+v", s)
	}
	if c := s.Commands[0]; c.Line != 4 || c.Text != "echo a \\\n    b" || !slices.Equal(c.Output, []string{"a b"}) {
		t.Errorf("command 0: %+v", c)
	}
	if c := s.Commands[1]; c.Text != "true" || len(c.Output) != 0 || c.Background() {
		t.Errorf("command 1: %+v", c)
	}
	if !(Command{Text: "rag-mcp --http :1 &"}).Background() {
		t.Error("a trailing & is not a background command")
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ a, b string }{
		{"indexed 24 in 0.2s (114.7 images/s)", "indexed 24 in 1.5s (16.0 images/s)"},
		{"encoded 24 images in 122ms", "encoded 24 images in 3.4s"},
		{"time=2026-11-27T02:31:15.338Z level=INFO", "time=2027-01-02T10:00:00.001Z level=INFO"},
		{"into /tmp/langchaingo-rag-index-271615112: 24", "into /tmp/langchaingo-rag-index-98731234: 24"},
		{"score 0.7028  ", "score 0.7028"},
	}
	for _, tt := range tests {
		if Mask(tt.a) != Mask(tt.b) {
			t.Errorf("Mask(%q) = %q, Mask(%q) = %q: want equal", tt.a, Mask(tt.a), tt.b, Mask(tt.b))
		}
	}
	if Mask("score 0.7028") == Mask("score 0.7029") {
		t.Error("scores are masked; only timings may be")
	}
	if Mask("24 images") == Mask("25 images") {
		t.Error("counts are masked")
	}
}

func TestDiffAndRewrite(t *testing.T) {
	doc := []byte("intro\n```console\n$ a\nold 1\nold 2\n$ b\n```\ntail\n")
	ss := Parse(doc)
	if d := Diff(ss[0].Commands[0].Output, []string{"old 1", "old 2", ""}); d != "" {
		t.Errorf("trailing blank line makes a difference: %s", d)
	}
	if d := Diff(ss[0].Commands[0].Output, []string{"old 1", "new"}); !strings.Contains(d, "line 2") {
		t.Errorf("Diff = %q, want line 2", d)
	}
	got := string(Rewrite(doc, ss, [][][]string{{{"new"}, {"b1", "b2"}}}))
	want := "intro\n```console\n$ a\nnew\n$ b\nb1\nb2\n```\ntail\n"
	if got != want {
		t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunBackgroundAndState(t *testing.T) {
	dir := t.TempDir()
	doc := []byte("```console\n$ export X=1; echo start\nstart\n$ (echo up; sleep 30) &\nup\n$ echo \"x=$X\"; echo err >&2\nx=1\nerr\n```\n\n```console\n$ echo $X again\n1 again\n```\n")
	ss := Parse(doc)
	r := Runner{Dir: dir, Env: os.Environ()}
	outs, err := r.Run(context.Background(), ss)
	if err != nil {
		t.Fatal(err)
	}
	for si, s := range ss {
		for ci, c := range s.Commands {
			if d := Diff(c.Output, outs[si][ci]); d != "" {
				t.Errorf("session %d command %q: %s", si, c.Text, d)
			}
		}
	}
}

// TestDocs runs every console session of Docs with freshly built commands
// and fails when one prints something other than what the document shows
// (after Mask). With -update (scripts/tour.sh) it rewrites the documents
// instead, and copies the files the sessions wrote into docs/ back.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented command; not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ONNXRUNTIME_LIB is not set (scripts/test.sh sets it)")
		}
		t.Skip("ONNX Runtime not available: run through scripts/test.sh, or set ONNXRUNTIME_LIB")
	}
	bin := t.TempDir()
	build(t, root, ".", bin, "./cmd/...")
	build(t, root, "examples/langchaingo-rag", filepath.Join(bin, "langchaingo-rag"), ".")
	home := t.TempDir()
	env := []string{
		"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"CLIPRAG_CACHE=" + filepath.Join(home, "cache"),
		"ONNXRUNTIME_LIB=" + lib,
		"LANG=C.UTF-8",
		"TERM=dumb",
	}
	// Sessions marked <!-- tour: ocr --> read text with the OCR models
	// (scripts/ocrmodels.sh prints CLIPRAG_OCR_MODELS; scripts/test.sh sets
	// it): the commands find them through CLIPRAG_OCR_MODEL. Without them
	// those sessions are left out, or the test fails under CI=true.
	ocrModels := os.Getenv("CLIPRAG_OCR_MODELS")
	if ocrModels != "" {
		env = append(env, "CLIPRAG_OCR_MODEL="+ocrModels)
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CLIPRAG_OCR_MODELS is not set (scripts/test.sh sets it)")
	}
	for _, doc := range Docs {
		t.Run(doc, func(t *testing.T) {
			runDoc(t, root, doc, env, ocrModels != "")
		})
	}
}

func runDoc(t *testing.T, root, doc string, env []string, ocr bool) {
	path := filepath.Join(root, doc)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sessions := Parse(text)
	if !ocr {
		kept := sessions[:0]
		for _, s := range sessions {
			if s.OCR {
				t.Logf("%s:%d: left out: the OCR models are not available (eval \"export $(scripts/ocrmodels.sh)\")", doc, s.Start)
				continue
			}
			kept = append(kept, s)
		}
		sessions = kept
	}
	if len(sessions) == 0 {
		return
	}
	prepare(t, root)
	outs, err := Runner{Dir: Dir, Env: env, Update: *update}.Run(context.Background(), sessions)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, Rewrite(text, sessions, outs), 0o644); err != nil {
			t.Fatal(err)
		}
		copyBack(t, filepath.Join(Dir, "docs"), filepath.Join(root, "docs"))
		return
	}
	for si, s := range sessions {
		for ci, c := range s.Commands {
			if d := Diff(c.Output, outs[si][ci]); d != "" {
				t.Errorf("%s:%d: `%s` no longer prints what the document shows (run scripts/tour.sh to regenerate the document, then check the diff); %s",
					doc, c.Line, firstLine(c.Text), d)
			}
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// build runs go build in the module at dir (relative to root).
func build(t *testing.T, root, dir, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join(root, dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
}

// prepare makes Dir afresh: a copy of examples/ and an empty docs/.
func prepare(t *testing.T, root string) {
	t.Helper()
	if err := os.RemoveAll(Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(Dir, "examples"), os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(Dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// copyBack copies the files a session wrote into docs/ to the repository.
func copyBack(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
