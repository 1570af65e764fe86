package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/tools"
	lc "github.com/cliprag/cliprag/tools/langchaingo"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// cleanEnv removes every setting that could make run reach a real LLM or
// another model or store, restoring them after the test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_MODEL", "OLLAMA_HOST", "OLLAMA_MODEL", "CLIPRAG_MODEL", "CLIPRAG_STORE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Chdir(t.TempDir()) // no .env
}

// drawImages draws one image per class of the tiny model into a new folder.
func drawImages(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shapes")
	toolstest.Draw(t, dir, toolstest.DrawOptions{
		Rand: rand.New(rand.NewPCG(9, 9)), JPEG: true,
		Size: func(i int) (int, int) { return 400 + 10*i, 300 },
	})
	return dir
}

// runExample runs the program and returns its standard output, skipping
// when ONNX Runtime is missing (failing under CI=true).
func runExample(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err != nil {
		if toolstest.RuntimeMissing(err.Error()) {
			t.Skipf("ONNX Runtime not available (set ONNXRUNTIME_LIB): %v", err)
		}
		t.Fatalf("run %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	return out.String()
}

var (
	retrievedLine = regexp.MustCompile(`(?m)^  (\d+)\. (\S+)  score (-?[0-9.]+)  (\S+)$`)
	imagePartLine = regexp.MustCompile(`(?m)^\[image/jpeg, (\d+) bytes: (\S+)\]$`)
)

func TestNoLLMPrintsPrompt(t *testing.T) {
	cleanEnv(t)
	dir := drawImages(t)
	store := filepath.Join(t.TempDir(), "index")
	q := "Which pictures show a blue cross?"
	out := runExample(t, "-images", dir, "-store", store, "-q", q, "-k", "4")

	if !strings.Contains(out, "Indexed "+dir+" with tiny-shapes") || !strings.Contains(out, "20 images (20 new, 0 unchanged)") {
		t.Errorf("no indexing summary with the default model tiny-shapes:\n%s", out)
	}
	retrieved := retrievedLine.FindAllStringSubmatch(out, -1)
	parts := imagePartLine.FindAllStringSubmatch(out, -1)
	if len(retrieved) != 4 || len(parts) != 4 {
		t.Fatalf("%d retrieved images and %d image parts, want 4 and 4:\n%s", len(retrieved), len(parts), out)
	}
	for i, r := range retrieved {
		path := r[4]
		if filepath.Dir(path) != dir || filepath.Base(path) != r[2] {
			t.Errorf("retrieved %s is not a drawn image", path)
		}
		if parts[i][2] != path {
			t.Errorf("image part %d shows %s, retrieved %s", i+1, parts[i][2], path)
		}
		n, _ := strconv.Atoi(parts[i][1])
		if n < 200 || n > 40000 {
			t.Errorf("image part %d is %d bytes: not a small thumbnail", i+1, n)
		}
		if !strings.Contains(out, fmt.Sprintf("%d. Image %s in %s", i+1, r[2], dir)) {
			t.Errorf("the prompt text does not list %s as image %d", r[2], i+1)
		}
	}
	for _, s := range []string{"--- system ---", "--- human ---", "Question: " + q, "No LLM configured"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}

	// A second run over the same store re-indexes nothing and retrieves the same.
	again := runExample(t, "-images", dir, "-store", store, "-q", q, "-k", "4")
	if !strings.Contains(again, "20 images (0 new, 20 unchanged)") {
		t.Errorf("second run re-indexed:\n%s", again)
	}
	if a, b := retrievedLine.FindAllString(out, -1), retrievedLine.FindAllString(again, -1); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("runs disagree:\n%v\n%v", a, b)
	}
}

func TestDrawsWhenDefaultFolderMissing(t *testing.T) {
	cleanEnv(t) // the working directory is empty: examples/shapes is missing
	out := runExample(t, "-llm", "none", "-k", "2")
	if n := len(imagePartLine.FindAllString(out, -1)); n != 2 {
		t.Errorf("%d image parts, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "20 images (20 new") {
		t.Errorf("did not index the 20 drawn images:\n%s", out)
	}
}

func TestBadFlags(t *testing.T) {
	cleanEnv(t)
	dir := drawImages(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-k", "0"}, "-k 0"},
		{[]string{"-k", "101"}, "-k 101"},
		{[]string{"-thumb", "4"}, "-thumb 4"},
		{[]string{"-llm", "gpt"}, `-llm "gpt"`},
		{[]string{"-llm", "openai"}, "OPENAI_API_KEY"},
		{[]string{"-images", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"stray"}, "unexpected arguments"},
		{[]string{"-q", " "}, "query: is empty"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"-images", dir}, tc.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err != nil && toolstest.RuntimeMissing(err.Error()) {
				t.Skip(err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// recorder is a fake LLM server on 127.0.0.1 that records request bodies.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	auth   []string
}

func (r *recorder) record(req *http.Request) []byte {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	return b
}

// checkJPEG decodes a thumbnail and checks its size.
func checkJPEG(t *testing.T, data []byte, maxSide int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image part is not a JPEG: %v", err)
	}
	if b := img.Bounds(); max(b.Dx(), b.Dy()) > maxSide || max(b.Dx(), b.Dy()) < maxSide/2 {
		t.Errorf("thumbnail is %dx%d, want a long side of at most %d (originals are larger)", b.Dx(), b.Dy(), maxSide)
	}
}

func TestOpenAICompatible(t *testing.T) {
	cleanEnv(t)
	dir := drawImages(t)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec.record(req)
		if req.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"vision-test","choices":[{"index":0,"message":{"role":"assistant","content":"blue-cross.jpg shows a blue cross."},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_API_KEY", "sk-test")
	t.Setenv("OPENAI_MODEL", "vision-test")

	out := runExample(t, "-images", dir, "-store", filepath.Join(t.TempDir(), "index"), "-q", "a blue cross", "-k", "2", "-thumb", "128")
	if !strings.Contains(out, "Answer (openai vision-test):\nblue-cross.jpg shows a blue cross.") {
		t.Errorf("answer not printed:\n%s", out)
	}
	if len(rec.bodies) != 1 || rec.auth[0] != "Bearer sk-test" {
		t.Fatalf("%d requests, auth %v", len(rec.bodies), rec.auth)
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(rec.bodies[0], &req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "vision-test" || len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("request: model %q, %d messages", req.Model, len(req.Messages))
	}
	var parts []struct {
		Type     string            `json:"type"`
		Text     string            `json:"text"`
		ImageURL map[string]string `json:"image_url"`
	}
	if err := json.Unmarshal(req.Messages[1].Content, &parts); err != nil {
		t.Fatalf("user content is not a list of parts: %v\n%s", err, req.Messages[1].Content)
	}
	if len(parts) != 3 || parts[0].Type != "text" || parts[1].Type != "image_url" || parts[2].Type != "image_url" {
		t.Fatalf("parts %+v, want text then two image_url", parts)
	}
	names := retrievedLine.FindAllStringSubmatch(out, -1)
	for _, n := range names {
		if !strings.Contains(parts[0].Text, "Image "+n[2]) {
			t.Errorf("the text part does not list %s:\n%s", n[2], parts[0].Text)
		}
	}
	for _, p := range parts[1:] {
		data, ok := strings.CutPrefix(p.ImageURL["url"], "data:image/jpeg;base64,")
		if !ok {
			t.Fatalf("image_url %.40q is not a JPEG data URL", p.ImageURL["url"])
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		checkJPEG(t, raw, 128)
	}
}

func TestOllama(t *testing.T) {
	cleanEnv(t)
	dir := drawImages(t)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec.record(req)
		if req.URL.Path != "/api/chat" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"model":"llava-test","message":{"role":"assistant","content":"I see a green square."},"done":true}`+"\n")
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OLLAMA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("OLLAMA_MODEL", "llava-test")

	out := runExample(t, "-images", dir, "-store", filepath.Join(t.TempDir(), "index"), "-q", "a green square", "-k", "3")
	if !strings.Contains(out, "Answer (ollama llava-test):\nI see a green square.") {
		t.Errorf("answer not printed:\n%s", out)
	}
	if len(rec.bodies) != 1 {
		t.Fatalf("%d requests", len(rec.bodies))
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string   `json:"role"`
			Content string   `json:"content"`
			Images  [][]byte `json:"images"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(rec.bodies[0], &req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "llava-test" || len(req.Messages) != 2 || req.Messages[1].Role != "user" {
		t.Fatalf("request: %+v", req)
	}
	u := req.Messages[1]
	if !strings.Contains(u.Content, "Question: a green square") || len(u.Images) != 3 {
		t.Fatalf("user message: %q with %d images", u.Content, len(u.Images))
	}
	for _, im := range u.Images {
		checkJPEG(t, im, 256)
	}
}

// TestPromptCarriesText: the text read in an image reaches the prompt
// with its document's line.
func TestPromptCarriesText(t *testing.T) {
	docs := lc.Documents([]tools.Hit{{Rank: 1, Path: "/reports/fig3.png", Folder: "/reports", Width: 640, Height: 480, Format: "png",
		Score: 0.31, Text: "断裂体系叠合图\nFigure 3. Fault system overlay map"}})
	msgs := BuildPrompt("Which figure shows the fault system?", docs, nil, "none")
	var b strings.Builder
	if err := PrintPrompt(&b, msgs, docs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1. Image fig3.png in /reports, 640x480 png, text: 断裂体系叠合图 / Figure 3. Fault system overlay map [CLIP score 0.310]") {
		t.Errorf("prompt:\n%s", b.String())
	}
}
