package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// session is a client connected to a real Server over ServeStdio through
// pipes, with the notifications it received.
type session struct {
	*client.Client
	mu    sync.Mutex
	notes []mcpgo.JSONRPCNotification
}

func (s *session) notifications(method string) []mcpgo.JSONRPCNotification {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mcpgo.JSONRPCNotification
	for _, n := range s.notes {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// dial describes the client side of a test session.
type dial struct {
	version string   // protocol version asked for; default the latest
	roots   []string // folders offered as MCP roots; nil: no roots capability
	opts    Options
}

// connect serves a Server over svc to a new client. The server stops
// (through the end of its input) when the test ends.
func connect(t *testing.T, f *toolstest.Fixture, topts tools.Options, d dial) *session {
	t.Helper()
	svc, err := tools.New(toolstest.Model(t), f.Store, topts)
	if err != nil {
		t.Fatal(err)
	}
	return connectService(t, svc, d)
}

func connectService(t *testing.T, svc *tools.Service, d dial) *session {
	t.Helper()
	srv, err := NewServer(svc, d.opts)
	if err != nil {
		t.Fatal(err)
	}
	cr, sw := io.Pipe() // server → client
	sr, cw := io.Pipe() // client → server
	done := make(chan error, 1)
	go func() {
		done <- srv.ServeStdio(context.Background(), sr, sw)
		sw.Close()
	}()
	var copts []client.ClientOption
	if d.roots != nil {
		copts = append(copts, client.WithRootsHandler(rootsHandler(d.roots)))
	}
	c := client.NewClient(transport.NewIO(cr, cw, io.NopCloser(strings.NewReader(""))), copts...)
	s := &session{Client: c}
	c.OnNotification(func(n mcpgo.JSONRPCNotification) {
		s.mu.Lock()
		s.notes = append(s.notes, n)
		s.mu.Unlock()
	})
	t.Cleanup(func() {
		cw.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeStdio: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("ServeStdio did not return after the end of its input")
		}
		cr.Close()
	})
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcpgo.InitializeRequest{}
	req.Params.ProtocolVersion = d.version
	if req.Params.ProtocolVersion == "" {
		req.Params.ProtocolVersion = mcpgo.LATEST_LEGACY_PROTOCOL_VERSION
	}
	req.Params.ClientInfo = mcpgo.Implementation{Name: "cliprag-test", Version: "1"}
	if d.roots != nil {
		req.Params.Capabilities.Roots = &struct {
			ListChanged bool `json:"listChanged,omitempty"`
		}{ListChanged: true}
	}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatal(err)
	}
	return s
}

type rootsHandler []string

func (r rootsHandler) ListRoots(context.Context, mcpgo.ListRootsRequest) (*mcpgo.ListRootsResult, error) {
	res := &mcpgo.ListRootsResult{Roots: []mcpgo.Root{}}
	for _, d := range r {
		res.Roots = append(res.Roots, mcpgo.Root{URI: "file://" + filepath.ToSlash(d), Name: filepath.Base(d)})
	}
	return res, nil
}

func call(t *testing.T, c *session, name string, args map[string]any) *mcpgo.CallToolResult {
	t.Helper()
	req := mcpgo.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

// structured decodes a result's structuredContent into out.
func structured(t *testing.T, res *mcpgo.CallToolResult, out any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("structuredContent %s: %v", b, err)
	}
}

func text(res *mcpgo.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := mcpgo.AsTextContent(c); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func images(t *testing.T, res *mcpgo.CallToolResult) []image.Image {
	t.Helper()
	var out []image.Image
	for _, c := range res.Content {
		ic, ok := mcpgo.AsImageContent(c)
		if !ok {
			continue
		}
		if ic.MIMEType != "image/jpeg" {
			t.Errorf("thumbnail MIME %q", ic.MIMEType)
		}
		data, err := base64.StdEncoding.DecodeString(ic.Data)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("thumbnail is not a JPEG: %v", err)
		}
		out = append(out, img)
	}
	return out
}

func links(res *mcpgo.CallToolResult) []mcpgo.ResourceLink {
	var out []mcpgo.ResourceLink
	for _, c := range res.Content {
		switch l := c.(type) {
		case mcpgo.ResourceLink:
			out = append(out, l)
		case *mcpgo.ResourceLink:
			out = append(out, *l)
		}
	}
	return out
}

func class(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return strings.ReplaceAll(base, "-", " ")
}

func TestListTools(t *testing.T) {
	f := toolstest.Mixed(t)
	for _, tc := range []struct {
		opts tools.Options
		want []string
	}{
		{tools.Options{}, []string{ToolClassify, ToolCompare, ToolSimilar, ToolStats, ToolReadText, ToolSearch}},
		{tools.Options{AllowIngest: true, AllowURLs: true}, []string{ToolClassify, ToolCompare, ToolSimilar, ToolStats, ToolIngest, ToolReadText, ToolSearch}},
	} {
		c := connect(t, f, tc.opts, dial{})
		res, err := c.ListTools(context.Background(), mcpgo.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			a := tool.Annotations
			if a.ReadOnlyHint == nil || *a.ReadOnlyHint != (tool.Name != ToolIngest) {
				t.Errorf("%s: readOnlyHint %v", tool.Name, a.ReadOnlyHint)
			}
			wantOpen := tc.opts.AllowURLs && tool.Name != ToolIngest
			if a.OpenWorldHint == nil || *a.OpenWorldHint != wantOpen {
				t.Errorf("%s: openWorldHint %v, want %v", tool.Name, a.OpenWorldHint, wantOpen)
			}
			if a.Title == "" || tool.Description == "" {
				t.Errorf("%s: no title or description", tool.Name)
			}
		}
		if got, want := strings.Join(sortStrings(names), ","), strings.Join(sortStrings(tc.want), ","); got != want {
			t.Errorf("tools %s, want %s", got, want)
		}
	}
}

// TestSchemasPortable checks what the Inspector's --strict lint checks and
// what the issue asks on top: one type per schema, no untyped schema,
// every input property described, limits declared.
func TestSchemasPortable(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{AllowIngest: true, AllowURLs: true}, dial{})
	raw, err := c.ListTools(context.Background(), mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(raw)
	var list struct {
		Tools []struct {
			Name         string         `json:"name"`
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	limits := map[string][]string{ // property → keywords it must declare
		"query": {"maxLength"}, "top_k": {"minimum", "maximum"}, "tags": {"maxItems"}, "min_score": {"minimum", "maximum"},
		"image": {"maxLength"}, "labels": {"minItems", "maxItems"}, "paths": {"minItems", "maxItems"},
		"thumbnails": {"minimum", "maximum"}, "thumbnail_size": {"minimum", "maximum"}, "templates": {"maxItems"},
		"mode": {"enum"},
	}
	for _, tool := range list.Tools {
		for which, s := range map[string]map[string]any{"input": tool.InputSchema, "output": tool.OutputSchema} {
			if s == nil {
				t.Errorf("%s: no %s schema", tool.Name, which)
				continue
			}
			walkSchema(t, tool.Name+" "+which, s)
		}
		props, _ := tool.InputSchema["properties"].(map[string]any)
		for name, p := range props {
			p := p.(map[string]any)
			if d, _ := p["description"].(string); len(d) < 10 {
				t.Errorf("%s: input %q is not described", tool.Name, name)
			}
			for _, kw := range limits[name] {
				if _, ok := p[kw]; !ok {
					t.Errorf("%s: input %q declares no %s", tool.Name, name, kw)
				}
			}
			if name == "image" || name == "a" || name == "b" {
				if p["type"] != "string" {
					t.Errorf("%s: image argument %q is %v, want a string", tool.Name, name, p["type"])
				}
			}
		}
	}
}

func walkSchema(t *testing.T, where string, s map[string]any) {
	t.Helper()
	typ, ok := s["type"].(string)
	if !ok {
		t.Errorf("%s: type %v is not a single type", where, s["type"])
	}
	if typ == "" && s["$ref"] == nil && s["anyOf"] == nil {
		t.Errorf("%s: untyped schema %v", where, s)
	}
	for _, key := range []string{"properties"} {
		if m, ok := s[key].(map[string]any); ok {
			for k, v := range m {
				walkSchema(t, where+"."+k, v.(map[string]any))
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if m, ok := s[key].(map[string]any); ok {
			walkSchema(t, where+"."+key, m)
		}
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSearchTool(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	res := call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle", "top_k": 6})
	var out tools.SearchOutput
	structured(t, res, &out)
	if len(out.Hits) != 6 {
		t.Fatalf("%d hits, want 6", len(out.Hits))
	}
	if class(out.Hits[0].Path) != "red circle" {
		t.Errorf("top hit %s, want a red circle", out.Hits[0].Path)
	}
	lines := strings.Split(text(res), "\n")
	if len(lines) != 7 || !strings.Contains(lines[1], out.Hits[0].Path) || !strings.HasPrefix(lines[1], "1. ") || !strings.Contains(lines[1], out.Hits[0].URI) {
		t.Errorf("summary:\n%s", text(res))
	}
	imgs := images(t, res)
	if len(imgs) != DefaultThumbnails {
		t.Errorf("%d thumbnails, want %d", len(imgs), DefaultThumbnails)
	}
	for _, img := range imgs {
		if b := img.Bounds(); max(b.Dx(), b.Dy()) != DefaultThumbnailSize {
			t.Errorf("thumbnail %dx%d, want a long side of %d", b.Dx(), b.Dy(), DefaultThumbnailSize)
		}
	}
	ls := links(res)
	if len(ls) != 6 {
		t.Fatalf("%d resource links, want 6", len(ls))
	}
	for i, l := range ls {
		if l.URI != "image://"+out.Hits[i].ID || l.MIMEType == "" {
			t.Errorf("link %d: %+v", i, l)
		}
	}
	for _, tc := range []struct {
		args      map[string]any
		n, side   int
		withLinks int
	}{
		{map[string]any{"include_images": false}, 0, 0, 5},
		{map[string]any{"top_k": 2}, 2, DefaultThumbnailSize, 2},
		{map[string]any{"thumbnails": 1, "thumbnail_size": 64}, 1, 64, 5},
		{map[string]any{"thumbnails": "2", "thumbnail_size": 300, "top_k": "3"}, 2, 300, 3}, // numbers as strings
	} {
		tc.args["query"] = "a photo of a red circle"
		res = call(t, c, ToolSearch, tc.args)
		imgs := images(t, res)
		if len(imgs) != tc.n || len(links(res)) != tc.withLinks {
			t.Errorf("%v: %d thumbnails, %d links; want %d, %d (%s)", tc.args, len(imgs), len(links(res)), tc.n, tc.withLinks, text(res))
		}
		for _, img := range imgs {
			if b := img.Bounds(); max(b.Dx(), b.Dy()) > tc.side || max(b.Dx(), b.Dy()) < min(tc.side, 120) {
				t.Errorf("%v: thumbnail %dx%d", tc.args, b.Dx(), b.Dy())
			}
		}
	}
}

// TestThumbnailOptions: the server's own defaults come from Options.
func TestThumbnailOptions(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{opts: Options{Thumbnails: 2, ThumbnailSize: 96}})
	res := call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle"})
	imgs := images(t, res)
	if len(imgs) != 2 || max(imgs[0].Bounds().Dx(), imgs[0].Bounds().Dy()) != 96 {
		t.Errorf("%d thumbnails (%v), want 2 of 96 px", len(imgs), imgs)
	}
	c = connect(t, f, tools.Options{}, dial{opts: Options{Thumbnails: -1}})
	if n := len(images(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle"}))); n != 0 {
		t.Errorf("Thumbnails -1: %d thumbnails", n)
	}
	if _, err := NewServer(&tools.Service{}, Options{ThumbnailSize: 5000}); err == nil {
		t.Error("ThumbnailSize 5000 accepted")
	}
}

func TestToolErrors(t *testing.T) {
	f := toolstest.Mixed(t)
	redPath := f.ByClass["red circle"]
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.png")
	if err := tinyshapes.WriteFile(secret, tinyshapes.Draw(rand.New(rand.NewSource(1)), "red", "circle", tinyshapes.DrawOptions{})); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(f.Root, "link.png")); err != nil {
		t.Fatal(err)
	}
	huge := "data:image/png;base64," + base64.StdEncoding.EncodeToString(make([]byte, 10<<20+10))
	c := connect(t, f, tools.Options{}, dial{})
	cu := connect(t, f, tools.Options{AllowURLs: true}, dial{})
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := os.ReadFile(redPath)
		w.Write(data)
	}))
	t.Cleanup(loop.Close)
	tests := []struct {
		name   string
		c      *session
		tool   string
		args   map[string]any
		errHas string
	}{
		{"missing query", c, ToolSearch, map[string]any{}, `the argument "query" is missing: a string is required`},
		{"unknown argument", c, ToolSearch, map[string]any{"query": "x", "bogus": 1}, `unknown argument "bogus": search_images takes only query, mode, top_k`},
		{"wrong type", c, ToolSearch, map[string]any{"query": "x", "top_k": "five"}, `the argument "top_k" must be an integer from 1 to 100, not the string "five"`},
		{"top_k too big", c, ToolSearch, map[string]any{"query": "x", "top_k": 500}, `the argument "top_k" must be an integer from 1 to 100, not 500`},
		{"fraction", c, ToolSearch, map[string]any{"query": "x", "top_k": 2.5}, `not 2.5`},
		{"query too long", c, ToolSearch, map[string]any{"query": strings.Repeat("a", 1001)}, `the argument "query" is 1001 characters long; at most 1000`},
		{"image object", c, ToolSimilar, map[string]any{"image": map[string]any{"path": redPath}}, `the argument "image" must be a string: a file path, an image id, an image://ID URI or a data: URI, not an object`},
		{"dotdot", c, ToolSimilar, map[string]any{"image": filepath.Join(f.Root, "..", "..", "etc", "passwd")}, "image: "},
		{"relative dotdot", c, ToolSimilar, map[string]any{"image": "../../../../etc/passwd"}, "image: "},
		{"absolute outside", c, ToolSimilar, map[string]any{"image": secret}, "outside the allowed roots"},
		{"symlink escape", c, ToolSimilar, map[string]any{"image": filepath.Join(f.Root, "link.png")}, "outside the allowed roots"},
		{"data uri too big", c, ToolClassify, map[string]any{"image": huge, "labels": []string{"a"}}, "at most 10485760 bytes"},
		{"url disabled", c, ToolCompare, map[string]any{"a": loop.URL, "b": redPath}, "--allow-urls"},
		{"url loopback", cu, ToolCompare, map[string]any{"a": loop.URL, "b": redPath}, "loopback"},
		{"unknown id", c, ToolSimilar, map[string]any{"image": "image://00000000-0000-5000-8000-000000000000"}, "no indexed image has id"},
		{"no labels", c, ToolClassify, map[string]any{"image": redPath, "labels": []string{}}, `the argument "labels" must have 1 to 100 labels, not 0`},
		{"label not a string", c, ToolClassify, map[string]any{"image": redPath, "labels": []any{"a", 3}}, `item 2 of "labels" must be a string (a label), not a number`},
		{"ingest not registered", c, ToolIngest, map[string]any{"paths": []string{f.Root}}, "ingest_images"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mcpgo.CallToolRequest{}
			req.Params.Name = tc.tool
			req.Params.Arguments = tc.args
			res, err := tc.c.CallTool(context.Background(), req)
			if tc.name == "ingest not registered" {
				// An unknown tool is a protocol error by the specification.
				if err == nil && !res.IsError {
					t.Fatal("ingest_images callable without --allow-ingest")
				}
				return
			}
			if err != nil {
				t.Fatalf("protocol error %v, want an isError result", err)
			}
			if !res.IsError {
				t.Fatalf("no isError; content %s", text(res))
			}
			msg := text(res)
			if !strings.Contains(msg, tc.errHas) {
				t.Errorf("message %q does not say %q", msg, tc.errHas)
			}
			if strings.Contains(msg, "&{") || strings.Contains(msg, "Got:") {
				t.Errorf("message %q dumps a Go value", msg)
			}
		})
	}
	// The server is still healthy.
	var out tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle"}), &out)
}

func TestImageStrings(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	var s tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a green cross", "top_k": 1}), &s)
	hit := s.Hits[0]
	data, err := os.ReadFile(hit.Path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(f.Root, hit.Path)
	for name, ref := range map[string]string{
		"absolute path": hit.Path, "relative path": rel, "id": hit.ID, "image URI": hit.URI,
		"data URI": "data:" + tools.MIMEType(hit.Format) + ";base64," + base64.StdEncoding.EncodeToString(data),
	} {
		var cmp tools.CompareOutput
		structured(t, call(t, c, ToolCompare, map[string]any{"a": ref, "b": hit.ID}), &cmp)
		if cmp.Cosine < 0.999 {
			t.Errorf("%s: cosine %.4f with itself", name, cmp.Cosine)
		}
		// The example is left out of its own similar images, whatever form it takes.
		var sim tools.SearchOutput
		structured(t, call(t, c, ToolSimilar, map[string]any{"image": ref, "top_k": 3}), &sim)
		if len(sim.Hits) != 3 {
			t.Errorf("%s: %d hits", name, len(sim.Hits))
		}
		for _, h := range sim.Hits {
			if h.ID == hit.ID {
				t.Errorf("%s: the example %s is among its similar images at %.4f", name, hit.Path, h.Score)
			}
		}
	}
}

// TestSimilarSameContent: a copy of an indexed file, under another name,
// is recognised by its content and left out.
func TestSimilarSameContent(t *testing.T) {
	f := toolstest.Mixed(t)
	src := f.ByClass["blue square"]
	data, _ := os.ReadFile(src)
	cp := filepath.Join(f.Root, "copy-of-blue-square"+filepath.Ext(src))
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := connect(t, f, tools.Options{}, dial{})
	var sim tools.SearchOutput
	structured(t, call(t, c, ToolSimilar, map[string]any{"image": cp, "top_k": 5}), &sim)
	for _, h := range sim.Hits {
		if h.Path == src || h.Score > 0.9999 {
			t.Errorf("the indexed copy %s came back at %.4f", h.Path, h.Score)
		}
	}
}

func TestOtherTools(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{AllowIngest: true}, dial{})

	var stats tools.StatsOutput
	structured(t, call(t, c, ToolStats, map[string]any{}), &stats)
	if stats.Images != 20 || stats.Model == "" || len(stats.Roots) != 1 {
		t.Fatalf("stats %+v", stats)
	}

	fresh := tinyshapes.Draw(rand.New(rand.NewSource(42)), "yellow", "triangle", tinyshapes.DrawOptions{})
	var buf bytes.Buffer
	png.Encode(&buf, fresh)
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	var cl tools.ClassifyOutput
	res := call(t, c, ToolClassify, map[string]any{"image": uri, "labels": tinyshapes.Classes()})
	structured(t, res, &cl)
	if cl.Labels[0].Label != "yellow triangle" || !strings.Contains(text(res), "yellow triangle") {
		t.Errorf("classify: %+v", cl.Labels[:3])
	}

	p := filepath.Join(f.Root, "added", "blue-circle-2.png")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := tinyshapes.WriteFile(p, tinyshapes.Draw(rand.New(rand.NewSource(8)), "blue", "circle", tinyshapes.DrawOptions{})); err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Indexed int `json:"indexed"`
		Skipped int `json:"skipped"`
	}
	structured(t, call(t, c, ToolIngest, map[string]any{"paths": []string{f.Root}}), &sum)
	if sum.Indexed != 1 || sum.Skipped != 20 {
		t.Errorf("ingest: %+v", sum)
	}
	res = call(t, c, ToolIngest, map[string]any{"paths": []string{"/etc"}})
	if !res.IsError {
		t.Errorf("ingest outside roots: %s", text(res))
	}
}

// TestProtocolVersions: every version gets every tool; resource links and
// structuredContent-only results go to 2025-06-18 and later, and earlier
// clients find the structured content serialized in the text.
func TestProtocolVersions(t *testing.T) {
	f := toolstest.Mixed(t)
	for _, v := range []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"} {
		t.Run(v, func(t *testing.T) {
			c := connect(t, f, tools.Options{}, dial{version: v})
			res := call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle", "top_k": 3})
			old := v < "2025-06-18"
			if n := len(links(res)); (n == 3) == old {
				t.Errorf("%d resource links", n)
			}
			var inText tools.SearchOutput
			last := res.Content[len(res.Content)-1]
			tc, isText := mcpgo.AsTextContent(last)
			gotJSON := isText && json.Unmarshal([]byte(tc.Text), &inText) == nil && len(inText.Hits) == 3
			if gotJSON != old {
				t.Errorf("structured content in text: %v", gotJSON)
			}
			for _, args := range []struct {
				tool string
				a    map[string]any
			}{
				{ToolStats, map[string]any{}},
				{ToolSimilar, map[string]any{"image": f.ByClass["red circle"]}},
				{ToolClassify, map[string]any{"image": f.ByClass["red circle"], "labels": []string{"red circle", "blue square"}}},
				{ToolCompare, map[string]any{"a": f.ByClass["red circle"], "b": f.ByClass["blue square"]}},
			} {
				res := call(t, c, args.tool, args.a)
				if res.IsError || (old && !strings.Contains(text(res), "{")) {
					t.Errorf("%s: %s", args.tool, text(res))
				}
			}
		})
	}
}

// TestResultSize measures a 5-hit search over photos (examples/images) with
// the default thumbnails: the figure the README states.
func TestResultSize(t *testing.T) {
	photos, err := filepath.Abs("../examples/images")
	if err != nil {
		t.Fatal(err)
	}
	m := toolstest.Model(t)
	st, err := toolstest.Index(context.Background(), m, t.TempDir(), ingestOptions(photos), 9)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := tools.New(m, st, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := connectService(t, svc, dial{})
	for _, tc := range []struct {
		args     map[string]any
		min, max int
	}{
		{map[string]any{}, 25 << 10, 35 << 10},
		{map[string]any{"thumbnail_size": 256}, 50 << 10, 75 << 10}, // the old default
		{map[string]any{"include_images": false}, 1 << 10, 6 << 10},
	} {
		tc.args["query"], tc.args["top_k"] = "a photograph", 5
		res := call(t, c, ToolSearch, tc.args)
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("5-hit search over photos, %v: %d bytes (%.1f KB)", tc.args, len(b), float64(len(b))/1024)
		if len(b) < tc.min || len(b) > tc.max {
			t.Errorf("%v: result is %d bytes, want %d to %d", tc.args, len(b), tc.min, tc.max)
		}
	}
}

func TestReadResource(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	tpl, err := c.ListResourceTemplates(context.Background(), mcpgo.ListResourceTemplatesRequest{})
	if err != nil || len(tpl.ResourceTemplates) != 1 || tpl.ResourceTemplates[0].URITemplate.Raw() != ImageURITemplate {
		t.Fatalf("templates %+v, %v", tpl, err)
	}
	var s tools.SearchOutput
	res := call(t, c, ToolSearch, map[string]any{"query": "a photo of a purple square", "top_k": 3})
	structured(t, res, &s)
	for i, h := range s.Hits {
		blob := readBlob(t, c, h.URI)
		data, err := base64.StdEncoding.DecodeString(blob.Blob)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || blob.MIMEType != "image/"+format || cfg.Width != h.Width || cfg.Height != h.Height || blob.URI != h.URI {
			t.Errorf("%s: %s %q %dx%d (hit %dx%d), %v", h.URI, blob.MIMEType, format, cfg.Width, cfg.Height, h.Width, h.Height, err)
		}
		if l := links(res)[i]; l.MIMEType != blob.MIMEType {
			t.Errorf("%s: link says %s, read returns %s", h.URI, l.MIMEType, blob.MIMEType)
		}
	}
	for _, uri := range []string{"image://00000000-0000-5000-8000-000000000000", "image://", "image://a b"} {
		req := mcpgo.ReadResourceRequest{}
		req.Params.URI = uri
		_, err := c.ReadResource(context.Background(), req)
		if !errors.Is(err, mcpgo.ErrResourceNotFound) {
			t.Errorf("read %s: %v, want the resource-not-found error (-32002)", uri, err)
		}
	}
}

func readBlob(t *testing.T, c *session, uri string) mcpgo.BlobResourceContents {
	t.Helper()
	req := mcpgo.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("%d contents", len(res.Contents))
	}
	blob, ok := mcpgo.AsBlobResourceContents(res.Contents[0])
	if !ok {
		t.Fatalf("contents %T, want a blob", res.Contents[0])
	}
	return *blob
}

// TestLinkMIMEType: BMP, TIFF and large images are served as JPEG, and
// their links say so.
func TestLinkMIMEType(t *testing.T) {
	f := toolstest.Mixed(t)
	dir := filepath.Join(f.Root, "formats")
	os.MkdirAll(dir, 0o755)
	circle := tinyshapes.Draw(rand.New(rand.NewSource(3)), "red", "circle", tinyshapes.DrawOptions{})
	write := func(name string, enc func(io.Writer, image.Image) error, img image.Image) {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if err := enc(fh, img); err != nil {
			t.Fatal(err)
		}
	}
	write("red-circle.bmp", bmp.Encode, circle)
	write("red-circle.tiff", func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) }, circle)
	big := image.NewRGBA(image.Rect(0, 0, 1500, 1200))
	draw.CatmullRom.Scale(big, big.Bounds(), circle, circle.Bounds(), draw.Src, nil)
	write("big-red-circle.png", png.Encode, big)
	c := connect(t, f, tools.Options{AllowIngest: true}, dial{})
	if res := call(t, c, ToolIngest, map[string]any{"paths": []string{dir}}); res.IsError {
		t.Fatal(text(res))
	}
	res := call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle", "top_k": 23, "include_images": false})
	var s tools.SearchOutput
	structured(t, res, &s)
	seen := map[string]bool{}
	for i, h := range s.Hits {
		blob := readBlob(t, c, h.URI)
		l := links(res)[i]
		if l.MIMEType != blob.MIMEType {
			t.Errorf("%s (%s %dx%d): link %s, read %s", filepath.Base(h.Path), h.Format, h.Width, h.Height, l.MIMEType, blob.MIMEType)
		}
		seen[h.Format+" "+blob.MIMEType] = true
	}
	for _, want := range []string{"bmp image/jpeg", "tiff image/jpeg", "png image/jpeg", "png image/png", "jpeg image/jpeg"} {
		if !seen[want] {
			t.Errorf("no %s among %v", want, seen)
		}
	}
}

func ingestOptions(dir string) ingest.Options {
	return ingest.Options{Paths: []string{dir}}
}

func TestProgress(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{AllowIngest: true}, dial{})
	more := filepath.Join(f.Root, "batch")
	if _, err := toolstest.DrawSet(more, toolstest.DrawOptions{Seed: 99, PerClass: 3}); err != nil {
		t.Fatal(err)
	}
	req := mcpgo.CallToolRequest{}
	req.Params.Name = ToolIngest
	req.Params.Arguments = map[string]any{"paths": []string{more}}
	req.Params.Meta = &mcpgo.Meta{ProgressToken: "tok-1"}
	res, err := c.CallTool(context.Background(), req)
	if err != nil || res.IsError {
		t.Fatalf("ingest: %v %s", err, text(res))
	}
	checkProgress(t, c, "tok-1", 60)

	req = mcpgo.CallToolRequest{}
	req.Params.Name = ToolSearch
	req.Params.Arguments = map[string]any{"query": "a red circle"}
	req.Params.Meta = &mcpgo.Meta{ProgressToken: 7}
	if res, err := c.CallTool(context.Background(), req); err != nil || res.IsError {
		t.Fatalf("search: %v", err)
	}
	checkProgress(t, c, float64(7), 1)
}

// checkProgress checks the notifications for token: increasing, the last
// one complete (progress == total == want). They were written before the
// response, but the client hands notifications to its callback on another
// goroutine, so the last may still be on its way.
func checkProgress(t *testing.T, c *session, token any, want float64) {
	t.Helper()
	var notes []mcpgo.JSONRPCNotification
	for range 50 {
		notes = c.notifications("notifications/progress")
		if n := len(notes); n > 0 && notes[n-1].Params.AdditionalFields["progress"] == want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var vals []float64
	var total float64
	for _, n := range notes {
		p := n.Params.AdditionalFields
		if p["progressToken"] != token {
			continue
		}
		v, _ := p["progress"].(float64)
		if len(vals) > 0 && v <= vals[len(vals)-1] {
			t.Errorf("progress went from %v to %v", vals[len(vals)-1], v)
		}
		vals = append(vals, v)
		total, _ = p["total"].(float64)
	}
	if len(vals) == 0 {
		t.Fatalf("no progress notifications for %v", token)
	}
	if last := vals[len(vals)-1]; last != want || total != want {
		t.Errorf("last progress %v of %v, want %v of %v (all: %v)", last, total, want, want, vals)
	}
}

func TestLogging(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	call(t, c, ToolSearch, map[string]any{"query": "x", "top_k": 0})
	if n := len(c.notifications("notifications/message")); n != 0 {
		t.Errorf("%d log messages before logging/setLevel asked for info", n)
	}
	req := mcpgo.SetLevelRequest{}
	req.Params.Level = mcpgo.LoggingLevelInfo
	//lint:ignore SA1019 logging/setLevel is what protocol versions up to 2025-11-25 use
	if err := c.SetLevel(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	call(t, c, ToolSearch, map[string]any{"query": "x", "top_k": 0})
	msgs := c.notifications("notifications/message")
	if len(msgs) != 1 {
		t.Fatalf("%d log messages, want 1", len(msgs))
	}
	p := msgs[0].Params.AdditionalFields
	data, _ := p["data"].(map[string]any)
	if p["level"] != "info" || data["message"] != "bad arguments" || !strings.Contains(fmt.Sprint(data["err"]), "top_k") {
		t.Errorf("log message %v", p)
	}
}

func TestCompletion(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	var s tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a red circle", "top_k": 1}), &s)
	id := s.Hits[0].ID
	req := mcpgo.CompleteRequest{}
	req.Params.Ref = mcpgo.ResourceReference{Type: "ref/resource", URI: ImageURITemplate}
	req.Params.Argument.Name = "id"
	req.Params.Argument.Value = id[:6]
	res, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Completion.Values) == 0 || res.Completion.Values[0] != id {
		t.Errorf("completions of %q: %v", id[:6], res.Completion.Values)
	}
	req.Params.Argument.Value = ""
	if res, err = c.Complete(context.Background(), req); err != nil || len(res.Completion.Values) != 20 {
		t.Errorf("completions of \"\": %v, %v", res, err)
	}
}

// TestClientRoots: with no --root, the client's roots are what the tools
// may read; they are read again after roots/list_changed.
func TestClientRoots(t *testing.T) {
	f := toolstest.Mixed(t)
	other, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outsideImg := filepath.Join(other, "green-cross.png")
	if err := tinyshapes.WriteFile(outsideImg, tinyshapes.Draw(rand.New(rand.NewSource(5)), "green", "cross", tinyshapes.DrawOptions{})); err != nil {
		t.Fatal(err)
	}
	roots := rootsHandler{other}
	c := connect(t, f, tools.Options{}, dial{roots: roots})
	var stats tools.StatsOutput
	structured(t, call(t, c, ToolStats, map[string]any{}), &stats)
	if len(stats.Roots) != 1 || stats.Roots[0] != other {
		t.Errorf("roots %v, want the client's %s", stats.Roots, other)
	}
	if res := call(t, c, ToolCompare, map[string]any{"a": outsideImg, "b": outsideImg}); res.IsError {
		t.Errorf("a file in the client's root: %s", text(res))
	}
	if res := call(t, c, ToolCompare, map[string]any{"a": f.ByClass["red circle"], "b": outsideImg}); !res.IsError {
		t.Error("a file outside the client's roots was read")
	}
	// With --root, the client's roots are ignored.
	c2 := connect(t, f, tools.Options{Roots: []string{f.Root}}, dial{roots: roots})
	structured(t, call(t, c2, ToolStats, map[string]any{}), &stats)
	if len(stats.Roots) != 1 || stats.Roots[0] != f.Root {
		t.Errorf("with --root: roots %v", stats.Roots)
	}
}

func TestConcurrentCalls(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{}, dial{})
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mcpgo.CallToolRequest{}
			req.Params.Name = ToolSearch
			name := tinyshapes.Classes()[i%20]
			req.Params.Arguments = map[string]any{"query": "a photo of a " + name, "top_k": 1, "include_images": i%2 == 0}
			res, err := c.CallTool(context.Background(), req)
			if err == nil && res.IsError {
				err = fmt.Errorf("%s", text(res))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestStdioEndOfInput: at the end of input the calls in flight finish and
// their responses are written; a call the client cancelled is not waited for.
func TestStdioEndOfInput(t *testing.T) {
	f := toolstest.Mixed(t)
	svc, err := tools.New(toolstest.Model(t), f.Store, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(svc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_images","arguments":{"query":"a photo of a red circle","top_k":3}}}`,
		`{"jsonrpc":"2.0","id":"three","method":"tools/call","params":{"name":"find_similar_images","arguments":{"image":"` + f.ByClass["red circle"] + `"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"index_stats","arguments":{}}}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	start := time.Now()
	if err := srv.ServeStdio(context.Background(), strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	answered := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			ID     json.RawMessage       `json:"id"`
			Result *mcpgo.CallToolResult `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		s := ""
		if m.Result != nil {
			s = text(m.Result)
		}
		answered[string(m.ID)] = s
	}
	for _, id := range []string{"1", "2", `"three"`, "4"} {
		s, ok := answered[id]
		if !ok {
			t.Errorf("request %s not answered; output:\n%s", id, out.String())
		}
		if strings.Contains(s, "cancelled") {
			t.Errorf("request %s: %s", id, s)
		}
	}
	if !strings.Contains(answered["2"], "3 image(s)") {
		t.Errorf("search: %q", answered["2"])
	}
	t.Logf("served %d responses in %s", len(answered), time.Since(start))
}
