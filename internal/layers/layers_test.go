package layers

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cliprag/cliprag"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list runs go list over the core module with env added.
func list(t *testing.T, env []string, args ...string) []pkg {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, errb.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// rel returns p without the module prefix ("tools/ingest"), or p itself
// for packages of other modules.
func rel(p string) string {
	if p == module {
		return "."
	}
	return strings.TrimPrefix(p, module+"/")
}

func under(p string, prefixes ...string) bool {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// TestVendorsAtTheEdge: each vendor is imported by its own edge package
// only (and by commands, the composition root).
func TestVendorsAtTheEdge(t *testing.T) {
	edges := []struct {
		vendor  string
		allowed []string
	}{
		{"github.com/yalue/onnxruntime_go", []string{"embed/onnx"}},
		// The store benchmark measures Qdrant itself, as a peer, through
		// its own client (scripts/bench.sh store).
		{"github.com/qdrant/go-client", []string{"retriever/qdrant", "scripts/bench/store"}},
		{"go.etcd.io/bbolt", []string{"retriever/local"}},
		{"github.com/mark3labs/mcp-go", []string{"mcp"}},
		{"github.com/tmc/langchaingo", []string{"tools/langchaingo"}},
	}
	for _, p := range list(t, nil, "./...") {
		me := rel(p.ImportPath)
		for _, imp := range p.Imports {
			for _, e := range edges {
				if under(imp, e.vendor) && !under(me, e.allowed...) && !under(me, "cmd") {
					t.Errorf("%s imports %s; only %s may", me, imp, strings.Join(e.allowed, ", "))
				}
			}
		}
	}
}

// matches reports whether p matches pattern: "a/b" is that package,
// "a/b/..." that package and those below it.
func matches(p, pattern string) bool {
	if pre, ok := strings.CutSuffix(pattern, "/..."); ok {
		return under(p, pre)
	}
	return p == pattern
}

// TestLayers: the domain imports nothing of cliprag's above it, the shared
// layer nothing of the engines, and only commands and examples import the
// composition root.
func TestLayers(t *testing.T) {
	rules := []struct {
		pkgs   []string // packages the rule is about
		banned []string // cliprag packages they must not import
		why    string
	}{
		{[]string{"retriever"}, []string{"embed/...", "tools/...", "mcp/...", "internal/...", "cmd/...", "retriever/..."},
			"the domain is at the centre and imports nothing of cliprag"},
		{[]string{"embed/preprocess", "embed/imageformat", "embed/zeroshot", "embed/tokenizer"}, []string{"embed", "embed/onnx", "tools/...", "mcp/...", "retriever/...", "internal/config", "internal/layers", "internal/httpguard", "internal/cli", "cmd/..."},
			"model maths and image decoding sit below the operations and need no runtime"},
		{[]string{"tools", "tools/ingest", "tools/sheet", "mcp", "internal/web"}, []string{"embed", "embed/onnx", "embed/hub", "retriever/local", "retriever/qdrant", "retriever/stores", "internal/config", "internal/layers", "cmd/..."},
			"the shared layer depends on interfaces (Encoder, retriever.Store), not engines"},
		{[]string{"internal/httpguard"}, []string{"embed/...", "tools/...", "mcp/...", "retriever/...", "internal/config", "cmd/..."},
			"the HTTP rules every front end applies are a leaf: standard library only"},
		{[]string{"internal/safefs"}, []string{"embed/...", "tools/...", "mcp/...", "retriever/...", "internal/config", "internal/httpguard", "internal/cli", "cmd/..."},
			"safe file opening, which the decoder and the shared layer use, is a leaf: standard library only"},
	}
	for _, p := range list(t, nil, "./...") {
		me := rel(p.ImportPath)
		for _, imp := range p.Imports {
			i := rel(imp)
			if i == imp {
				continue // another module's package
			}
			for _, r := range rules {
				for _, b := range r.banned {
					if slices.Contains(r.pkgs, me) && matches(i, b) && i != me {
						t.Errorf("%s imports %s: %s", me, i, r.why)
					}
				}
			}
			if i == "internal/config" && !under(me, "cmd", "examples") {
				t.Errorf("%s imports internal/config; only commands and examples may (it is the composition root)", me)
			}
		}
	}
}

// TestSharedLayerWithoutCgo: tools, ingest, mcp and the web page build (and list their
// dependencies) with CGO_ENABLED=0, so they never need ONNX Runtime.
func TestSharedLayerWithoutCgo(t *testing.T) {
	for _, p := range list(t, []string{"CGO_ENABLED=0"}, "-deps", "./tools", "./tools/ingest", "./tools/sheet", "./mcp", "./internal/web") {
		if under(rel(p.ImportPath), "embed/onnx") || strings.HasPrefix(p.ImportPath, "github.com/yalue/") {
			t.Errorf("the shared layer depends on %s", p.ImportPath)
		}
	}
}
