package langchaingo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/fake"
	"github.com/tmc/langchaingo/schema"
	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools"
	lc "github.com/cliprag/cliprag/tools/langchaingo"
)

// hitLine matches one hit line of the search tools' output.
var hitLine = regexp.MustCompile(`(?m)^(\d+)\. (\S+) \(path (\S+), id ([0-9a-f-]{36}), score (-?[0-9.]+), (\d+)x(\d+) (\w+)(, tags: .*)?\)$`)

type hit struct {
	rank          int
	name, path    string
	id            string
	score         float64
	width, height int
}

func parseHits(t *testing.T, out string) []hit {
	t.Helper()
	var hs []hit
	for _, m := range hitLine.FindAllStringSubmatch(out, -1) {
		rank, _ := strconv.Atoi(m[1])
		score, _ := strconv.ParseFloat(m[5], 64)
		w, _ := strconv.Atoi(m[6])
		h, _ := strconv.Atoi(m[7])
		hs = append(hs, hit{rank: rank, name: m[2], path: m[3], id: m[4], score: score, width: w, height: h})
	}
	return hs
}

func TestNamesAndDescriptions(t *testing.T) {
	f := shared.Get(t)
	ts := lc.Tools(f.svc, lc.WithDefaultLabels("cat", "dog"))
	want := []string{"search_images", "find_similar_images", "classify_image", "read_image_text"}
	for i, tool := range ts {
		if tool.Name() != want[i] {
			t.Errorf("tool %d is %q, want %q", i, tool.Name(), want[i])
		}
		d := tool.Description()
		if !strings.Contains(d, "Input:") || !strings.Contains(d, "JSON") || len(d) > 1000 {
			t.Errorf("%s: description does not document the input format briefly: %q", tool.Name(), d)
		}
	}
	if !strings.Contains(ts[2].Description(), "cat, dog") {
		t.Errorf("classify description does not list the default labels: %q", ts[2].Description())
	}
}

func TestSearchImagesCall(t *testing.T) {
	f := shared.Get(t)
	ctx := context.Background()
	tool := lc.NewSearchImages(f.svc, lc.WithTopK(3))
	ref, err := f.svc.SearchImages(ctx, tools.SearchInput{Query: "a photo of a red circle", TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	refPaths := func(n int) []string {
		var ps []string
		for _, h := range ref.Hits[:n] {
			ps = append(ps, h.Path)
		}
		return ps
	}
	for _, tc := range []struct {
		name, input string
		want        []string // paths, in order
		folder      string
		minScore    float64
	}{
		{"plain text", "a photo of a red circle", refPaths(3), "", 0},
		{"quoted, as agents write it", "\"a photo of a red circle\"\nObservation:", refPaths(3), "", 0},
		{"json", `{"query": "a photo of a red circle", "top_k": 2}`, refPaths(2), "", 0},
		{"json fenced", "```json\n{\"query\": \"a photo of a red circle\", \"top_k\": 1}\n```", refPaths(1), "", 0},
		{"json with min_score", `{"query": "a photo of a red circle", "min_score": ` + strconv.FormatFloat(ref.Hits[1].Score-1e-6, 'f', -1, 64) + `}`, refPaths(2), "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatal(err)
			}
			hs := parseHits(t, out)
			var got []string
			for i, h := range hs {
				got = append(got, h.path)
				if h.rank != i+1 || h.name != filepath.Base(h.path) || f.ids[h.path] != h.id || h.width != 180 || h.height != 140 {
					t.Errorf("hit %d is wrong: %+v", i, h)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("hits %v, want %v\n%s", got, tc.want, out)
			}
			if !strings.Contains(out, "tags: ") {
				t.Errorf("no tags in the output:\n%s", out)
			}
		})
	}
	out, err := tool.Call(ctx, `{"query": "a photo of a red circle", "min_score": 0.9999}`)
	if err != nil || !strings.HasPrefix(out, "No images found") {
		t.Errorf("nothing above the threshold: %q, %v", out, err)
	}
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "  ", "query: is empty"},
		{"empty quotes", `""`, "query: is empty"},
		{"unknown field", `{"query": "x", "k": 3}`, "unknown field"},
		{"bad json", `{"query": `, "invalid JSON"},
		{"too many", `{"query": "x", "top_k": 1000}`, "top_k"},
		{"too long", strings.Repeat("a", tools.MaxQueryChars+1), "at most 1000"},
		{"bad min_score", `{"query": "x", "min_score": 3}`, "min_score"},
	} {
		t.Run("bad "+tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatalf("bad input ended the agent with an error: %v", err)
			}
			if !strings.HasPrefix(out, "Error: ") || !strings.Contains(out, tc.want) || !strings.Contains(out, "Input format:") {
				t.Errorf("output %q, want an Error observation mentioning %q and the input format", out, tc.want)
			}
		})
	}
}

func TestFindSimilarImagesCall(t *testing.T) {
	f := shared.Get(t)
	ctx := context.Background()
	tool := lc.NewFindSimilarImages(f.svc)
	ex := f.paths["green triangle"]
	id := f.ids[ex]
	raw, err := os.ReadFile(ex)
	if err != nil {
		t.Fatal(err)
	}
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(raw)
	ref, err := f.svc.FindSimilar(ctx, tools.SimilarInput{Image: tools.ImageRef{ID: id}, TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, input string
		n           int
		self        bool // the example is among the hits
	}{
		{"path", ex, tools.DefaultTopK, false},
		{"relative path", filepath.Base(ex), tools.DefaultTopK, false},
		{"id", id, tools.DefaultTopK, false},
		{"json image", `{"image": "` + ex + `", "top_k": 2}`, 2, false},
		{"json id", `{"id": "` + id + `", "top_k": 2}`, 2, false},
		{"json folder", `{"path": "` + ex + `", "folder": "` + f.root + `", "top_k": 19}`, 19, false},
		{"data uri", uri, tools.DefaultTopK, false}, // indexed content is left out, however it is given
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatal(err)
			}
			hs := parseHits(t, out)
			if len(hs) != tc.n {
				t.Fatalf("%d hits, want %d:\n%s", len(hs), tc.n, out)
			}
			hasSelf := slices.ContainsFunc(hs, func(h hit) bool { return h.path == ex })
			if hasSelf != tc.self {
				t.Errorf("example among hits: %v, want %v\n%s", hasSelf, tc.self, out)
			}
			if !tc.self && (hs[0].path != ref.Hits[0].Path) {
				t.Errorf("best hit %s, the service says %s", hs[0].path, ref.Hits[0].Path)
			}
		})
	}
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "", "no image given"},
		{"outside roots", "/etc/hostname", "outside the allowed roots"},
		{"missing", filepath.Join(f.root, "nope.png"), "does not exist"},
		{"unknown id", "00000000-0000-5000-8000-000000000000", "no indexed image"},
		{"json without image", `{"top_k": 2}`, "image: missing"},
		{"json two images", `{"image": "` + ex + `", "id": "` + id + `"}`, "give the image once"},
		{"not an image", "data:image/png;base64,aGVsbG8=", "not a readable image"},
	} {
		t.Run("bad "+tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatalf("bad input ended the agent with an error: %v", err)
			}
			if !strings.HasPrefix(out, "Error: ") || !strings.Contains(out, tc.want) {
				t.Errorf("output %q, want an Error observation mentioning %q", out, tc.want)
			}
		})
	}
}

var labelLine = regexp.MustCompile(`([a-z][a-z ]*?) ([01]\.\d{3})`)

func TestClassifyImageCall(t *testing.T) {
	f := shared.Get(t)
	ctx := context.Background()
	tool := lc.NewClassifyImage(f.svc)
	img := f.paths["yellow square"]
	want, err := f.svc.ClassifyImage(ctx, tools.ClassifyInput{Image: tools.ImageRef{Path: img}, Labels: tinyshapes.Colors})
	if err != nil {
		t.Fatal(err)
	}
	colours := strings.Join(tinyshapes.Colors, ", ")
	for _, tc := range []struct{ name, input string }{
		{"pipe", img + " | " + colours},
		{"pipe, id", f.ids[img] + " | " + colours},
		{"json", `{"image": "` + img + `", "labels": ["red", "green", "blue", "yellow", "purple"]}`},
		{"json path field", `{"path": "` + img + `", "labels": ["red", "green", "blue", "yellow", "purple"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "Labels for ") {
				t.Fatalf("output %q", out)
			}
			_, list, _ := strings.Cut(out, "best first:")
			ms := labelLine.FindAllStringSubmatch(list, -1)
			if len(ms) != len(tinyshapes.Colors) {
				t.Fatalf("%d labels in %q, want %d", len(ms), out, len(tinyshapes.Colors))
			}
			var sum float64
			for i, m := range ms {
				p, _ := strconv.ParseFloat(m[2], 64)
				sum += p
				if strings.TrimSpace(m[1]) != want.Labels[i].Label {
					t.Errorf("label %d is %q, the service ranks %q there", i, m[1], want.Labels[i].Label)
				}
			}
			if sum < 0.995 || sum > 1.005 {
				t.Errorf("probabilities sum to %v", sum)
			}
		})
	}
	t.Run("template", func(t *testing.T) {
		out, err := tool.Call(ctx, `{"image": "`+img+`", "labels": ["square", "circle"], "template": "a drawing of a {}."}`)
		if err != nil || !strings.HasPrefix(out, "Labels for ") {
			t.Fatalf("%q, %v", out, err)
		}
	})
	t.Run("default labels, many", func(t *testing.T) {
		out, err := lc.NewClassifyImage(f.svc, lc.WithDefaultLabels(tinyshapes.Classes()...)).Call(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(labelLine.FindAllString(out, -1)); n != 10 || !strings.Contains(out, "; 10 more labels") {
			t.Errorf("20 labels should list the best 10 and say 10 more: %q", out)
		}
	})
	for _, tc := range []struct{ name, input, want string }{
		{"no labels", img, "labels: missing"},
		{"empty labels", img + " | , ,", "labels: none after the |"},
		{"no image", " | red, green", "no image given"},
		{"duplicate label", img + " | red, red", "given twice"},
		{"too many labels", img + " | " + strings.TrimSuffix(strings.Repeat("x,", 101), ","), "at most 100"},
		{"bad template", `{"image": "` + img + `", "labels": ["a"], "template": "no placeholder"}`, "template"},
		{"json unknown field", `{"image": "` + img + `", "label": ["a"]}`, "unknown field"},
		{"outside roots", "/etc/hostname | a, b", "outside the allowed roots"},
	} {
		t.Run("bad "+tc.name, func(t *testing.T) {
			out, err := tool.Call(ctx, tc.input)
			if err != nil {
				t.Fatalf("bad input ended the agent with an error: %v", err)
			}
			if !strings.HasPrefix(out, "Error: ") || !strings.Contains(out, tc.want) {
				t.Errorf("output %q, want an Error observation mentioning %q", out, tc.want)
			}
		})
	}
}

func TestCanceledContextIsAnError(t *testing.T) {
	f := shared.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tool := range lc.Tools(f.svc, lc.WithDefaultLabels("a", "b")) {
		out, err := tool.Call(ctx, f.paths["red cross"])
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %q, %v; want context.Canceled", tool.Name(), out, err)
		}
	}
}

// recordingLLM is langchaingo's fake LLM that also records every prompt it
// receives.
type recordingLLM struct {
	*fake.LLM
	mu      sync.Mutex
	prompts [][]llms.MessageContent
}

func (r *recordingLLM) GenerateContent(ctx context.Context, msgs []llms.MessageContent, opts ...llms.CallOption) (*llms.ContentResponse, error) {
	r.mu.Lock()
	r.prompts = append(r.prompts, msgs)
	r.mu.Unlock()
	return r.LLM.GenerateContent(ctx, msgs, opts...)
}

func (r *recordingLLM) Call(ctx context.Context, prompt string, opts ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, r, prompt, opts...)
}

// promptText returns the text parts of recorded prompt i.
func (r *recordingLLM) promptText(i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, m := range r.prompts[i] {
		for _, p := range m.Parts {
			if tc, ok := p.(llms.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
	}
	return b.String()
}

// text returns the text parts of every recorded prompt.
func (r *recordingLLM) text() string {
	var b strings.Builder
	for i := range r.prompts {
		b.WriteString(r.promptText(i))
	}
	return b.String()
}

// TestAgentExecutor runs the tools in langchaingo's MRKL agent: a bad input
// becomes an observation and the run goes on; tool results reach the model.
func TestAgentExecutor(t *testing.T) {
	f := shared.Get(t)
	ctx := context.Background()
	llm := &recordingLLM{LLM: fake.NewFakeLLM([]string{
		"Thought: I should look for red circles.\nAction: search_images\nAction Input: a photo of a red circle",
		"Thought: Classify it.\nAction: classify_image\nAction Input: " + f.paths["red circle"],
		"Thought: I forgot the labels.\nAction: classify_image\nAction Input: " + f.paths["red circle"] + " | circle, square",
		"Thought: I now know the final answer\nFinal Answer: red-circle.png shows a red circle.",
	})}
	ts := lc.Tools(f.svc, lc.WithTopK(2))
	agent := agents.NewOneShotAgent(llm, ts, agents.WithMaxIterations(6))
	exec := agents.NewExecutor(agent, agents.WithReturnIntermediateSteps(), agents.WithMaxIterations(6))
	out, err := chains.Call(ctx, exec, map[string]any{"input": "Which image shows a red circle?"})
	if err != nil {
		t.Fatalf("agent run: %v", err)
	}
	if out["output"] != "red-circle.png shows a red circle." {
		t.Errorf("output %q", out["output"])
	}
	steps, _ := out["intermediateSteps"].([]schema.AgentStep)
	if len(steps) != 3 {
		t.Fatalf("%d steps, want 3: %+v", len(steps), steps)
	}
	search, err := f.svc.SearchImages(ctx, tools.SearchInput{Query: "a photo of a red circle", TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range search.Hits {
		if !strings.Contains(steps[0].Observation, h.Path) {
			t.Errorf("search observation lacks %s:\n%s", h.Path, steps[0].Observation)
		}
	}
	if !strings.HasPrefix(steps[1].Observation, "Error: labels: missing") {
		t.Errorf("bad classify input: observation %q, want an Error the agent can read", steps[1].Observation)
	}
	if !strings.HasPrefix(steps[2].Observation, "Labels for ") {
		t.Errorf("corrected classify: observation %q", steps[2].Observation)
	}
	// The model saw every tool's description, then each observation.
	if len(llm.prompts) != 4 {
		t.Fatalf("LLM called %d times, want 4", len(llm.prompts))
	}
	for _, tool := range ts {
		if !strings.Contains(llm.promptText(0), tool.Name()) || !strings.Contains(llm.promptText(0), tool.Description()) {
			t.Errorf("the first prompt lacks tool %s", tool.Name())
		}
	}
	last := llm.promptText(3)
	for _, s := range []string{steps[0].Observation, steps[1].Observation, steps[2].Observation} {
		if !strings.Contains(last, s) {
			t.Errorf("observation %q did not reach the model", s)
		}
	}
	var _ []lctools.Tool = ts
}
