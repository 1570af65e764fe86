package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// readmeBlock returns the lines of the fenced block after marker in
// examples/mcp/README.md.
func readmeBlock(t *testing.T, readme, marker string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, marker)
	if !ok {
		t.Fatalf("README has no %s", marker)
	}
	_, rest, _ = strings.Cut(rest, "```")
	_, rest, _ = strings.Cut(rest, "\n")
	block, _, _ := strings.Cut(rest, "```")
	return strings.Split(strings.TrimSpace(block), "\n")
}

// TestREADMEWalkThrough runs the walk-through of examples/mcp/README.md,
// `rag-mcp --store INDEX < requests.jsonl`, over the same twenty images,
// and compares the first text of every response with what the README shows.
func TestREADMEWalkThrough(t *testing.T) {
	raw, err := os.ReadFile("../../examples/mcp/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	base, _ := filepath.EvalSymlinks(t.TempDir())
	shapes := filepath.Join(base, "shapes")
	os.MkdirAll(shapes, 0o755)
	for _, c := range []string{"red", "green", "blue", "yellow", "purple"} {
		for _, s := range []string{"circle", "square", "triangle", "cross"} {
			m, _ := filepath.Glob(filepath.Join("../../examples/shapes", c+"-"+s+".*"))
			data, err := os.ReadFile(m[0])
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(shapes, filepath.Base(m[0])), data, 0o644)
		}
	}
	m := toolstest.Model(t)
	st, err := toolstest.Index(t.Context(), m, filepath.Join(base, "index"),
		ingest.Options{Paths: []string{shapes}, Tags: []string{"circle", "square", "triangle", "cross"}, TopTags: 1}, 20)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	bin, _, _ := setup(t)

	cmd := exec.Command(bin, "--store", filepath.Join(base, "index"))
	cmd.Env = env()
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(strings.Join(readmeBlock(t, readme, "<!-- requests.jsonl -->"), "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			ID     json.RawMessage
			Result struct {
				ProtocolVersion string `json:"protocolVersion"`
				Content         []struct{ Text string }
			}
			Error *struct {
				Code    int
				Message string
			}
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		var s string
		switch {
		case r.Error != nil:
			b, _ := json.Marshal(r.Error.Message)
			s = fmt.Sprintf("error %d %s", r.Error.Code, b)
		case r.Result.ProtocolVersion != "":
			s = fmt.Sprintf("%q", r.Result.ProtocolVersion)
		default:
			b, _ := json.Marshal(r.Result.Content[0].Text)
			s = string(b)
		}
		got[string(r.ID)] = strings.ReplaceAll(s, base, "/tmp/mcpdemo")
	}
	want := readmeBlock(t, readme, "<!-- responses -->")
	if len(got) != len(want) {
		t.Errorf("%d responses, the README shows %d", len(got), len(want))
	}
	for _, w := range want {
		id, text, _ := strings.Cut(w, " → ")
		if got[id] != text {
			t.Errorf("response %s:\n got %s\nwant %s", id, got[id], text)
		}
	}
}
