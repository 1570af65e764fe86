package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// connect starts an in-process client on a server over the fixture.
func connect(t *testing.T, f *toolstest.Fixture, opts tools.Options) *client.Client {
	t.Helper()
	svc, err := tools.New(toolstest.Model(t), f.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(svc, Options{})
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcpgo.InitializeRequest{}
	req.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcpgo.Implementation{Name: "cliprag-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatal(err)
	}
	return c
}

func call(t *testing.T, c *client.Client, name string, args map[string]any) *mcpgo.CallToolResult {
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
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := mcpgo.AsTextContent(c); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
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
		{tools.Options{}, []string{ToolClassify, ToolCompare, ToolSimilar, ToolStats, ToolSearch}},
		{tools.Options{AllowIngest: true, AllowURLs: true}, []string{ToolClassify, ToolCompare, ToolSimilar, ToolStats, ToolIngest, ToolSearch}},
	} {
		c := connect(t, f, tc.opts)
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
			if tool.OutputSchema.Type != "object" || len(tool.OutputSchema.Properties) == 0 {
				t.Errorf("%s: output schema %+v", tool.Name, tool.OutputSchema)
			}
			in, _ := json.Marshal(tool.InputSchema)
			if tool.RawInputSchema != nil {
				in = tool.RawInputSchema
			}
			if !bytes.Contains(in, []byte(`"type":"object"`)) {
				t.Errorf("%s: input schema %s", tool.Name, in)
			}
		}
		if got, want := strings.Join(sortStrings(names), ","), strings.Join(sortStrings(tc.want), ","); got != want {
			t.Errorf("tools %s, want %s", got, want)
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
	c := connect(t, f, tools.Options{})
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
	if len(lines) != 7 || !strings.Contains(lines[1], out.Hits[0].Path) || !strings.HasPrefix(lines[1], "1. ") {
		t.Errorf("summary:\n%s", text(res))
	}
	imgs := images(t, res)
	if len(imgs) != MaxThumbnails {
		t.Errorf("%d thumbnails, want %d", len(imgs), MaxThumbnails)
	}
	for _, img := range imgs {
		if b := img.Bounds(); max(b.Dx(), b.Dy()) > tools.ThumbnailMaxSide {
			t.Errorf("thumbnail %dx%d larger than %d", b.Dx(), b.Dy(), tools.ThumbnailMaxSide)
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

	res = call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle", "include_images": false})
	if n := len(images(t, res)); n != 0 {
		t.Errorf("include_images false: %d thumbnails", n)
	}
	res = call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle", "top_k": 2})
	if n := len(images(t, res)); n != 2 {
		t.Errorf("top_k 2: %d thumbnails", n)
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
	c := connect(t, f, tools.Options{})
	cu := connect(t, f, tools.Options{AllowURLs: true})
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := os.ReadFile(redPath)
		w.Write(data)
	}))
	t.Cleanup(loop.Close)
	tests := []struct {
		name   string
		c      *client.Client
		tool   string
		args   map[string]any
		errHas string
	}{
		{"missing query", c, ToolSearch, map[string]any{}, "query"},
		{"unknown argument", c, ToolSearch, map[string]any{"query": "x", "bogus": 1}, "bogus"},
		{"wrong type", c, ToolSearch, map[string]any{"query": "x", "top_k": "five"}, "top_k"},
		{"top_k too big", c, ToolSearch, map[string]any{"query": "x", "top_k": 500}, "top_k"},
		{"query too long", c, ToolSearch, map[string]any{"query": strings.Repeat("a", 1001)}, "query"},
		{"dotdot", c, ToolSimilar, map[string]any{"image": map[string]any{"path": filepath.Join(f.Root, "..", "..", "etc", "passwd")}}, "outside the allowed roots"},
		{"relative dotdot", c, ToolSimilar, map[string]any{"image": map[string]any{"path": "../../../../etc/passwd"}}, "image.path"},
		{"absolute outside", c, ToolSimilar, map[string]any{"image": map[string]any{"path": secret}}, "outside the allowed roots"},
		{"symlink escape", c, ToolSimilar, map[string]any{"image": map[string]any{"path": filepath.Join(f.Root, "link.png")}}, "outside the allowed roots"},
		{"data uri too big", c, ToolClassify, map[string]any{"image": map[string]any{"data_uri": huge}, "labels": []string{"a"}}, "at most 10485760 bytes"},
		{"url disabled", c, ToolCompare, map[string]any{"a": map[string]any{"url": loop.URL}, "b": map[string]any{"path": redPath}}, "--allow-urls"},
		{"url loopback", cu, ToolCompare, map[string]any{"a": map[string]any{"url": loop.URL}, "b": map[string]any{"path": redPath}}, "loopback"},
		{"url scheme", cu, ToolSimilar, map[string]any{"image": map[string]any{"url": "file:///etc/passwd"}}, "only http and https"},
		{"two refs", c, ToolSimilar, map[string]any{"image": map[string]any{"path": redPath, "id": "x"}}, "exactly one"},
		{"no labels", c, ToolClassify, map[string]any{"image": map[string]any{"path": redPath}, "labels": []string{}}, "labels"},
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
			if !strings.Contains(text(res), tc.errHas) {
				t.Errorf("message %q does not mention %q", text(res), tc.errHas)
			}
		})
	}
	// The server is still healthy.
	var out tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a red circle"}), &out)
}

func TestOtherTools(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{AllowIngest: true})

	var stats tools.StatsOutput
	structured(t, call(t, c, ToolStats, map[string]any{}), &stats)
	if stats.Images != 20 || stats.Model == "" || len(stats.Roots) != 1 {
		t.Fatalf("stats %+v", stats)
	}

	var s tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a green cross", "top_k": 1}), &s)
	greenID := s.Hits[0].ID
	if class(s.Hits[0].Path) != "green cross" {
		t.Errorf("top hit %s, want a green cross", s.Hits[0].Path)
	}

	var sim tools.SearchOutput
	res := call(t, c, ToolSimilar, map[string]any{"image": map[string]any{"id": greenID}, "top_k": 3})
	structured(t, res, &sim)
	if len(sim.Hits) != 3 || sim.Hits[0].ID == greenID || len(links(res)) != 3 {
		t.Errorf("similar: %+v", sim.Hits)
	}

	fresh := tinyshapes.Draw(rand.New(rand.NewSource(42)), "yellow", "triangle", tinyshapes.DrawOptions{})
	var buf bytes.Buffer
	png.Encode(&buf, fresh)
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	var cl tools.ClassifyOutput
	res = call(t, c, ToolClassify, map[string]any{"image": map[string]any{"data_uri": uri}, "labels": tinyshapes.Classes()})
	structured(t, res, &cl)
	if cl.Labels[0].Label != "yellow triangle" || !strings.Contains(text(res), "yellow triangle") {
		t.Errorf("classify: %+v", cl.Labels[:3])
	}

	var cmp tools.CompareOutput
	structured(t, call(t, c, ToolCompare, map[string]any{"a": map[string]any{"id": greenID}, "b": map[string]any{"path": s.Hits[0].Path}}), &cmp)
	if cmp.Cosine < 0.999 || cmp.Similarity < 0.999 {
		t.Errorf("compare same image: %+v", cmp)
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

func TestReadResource(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{})
	tpl, err := c.ListResourceTemplates(context.Background(), mcpgo.ListResourceTemplatesRequest{})
	if err != nil || len(tpl.ResourceTemplates) != 1 || tpl.ResourceTemplates[0].URITemplate.Raw() != ImageURITemplate {
		t.Fatalf("templates %+v, %v", tpl, err)
	}
	var s tools.SearchOutput
	structured(t, call(t, c, ToolSearch, map[string]any{"query": "a photo of a purple square", "top_k": 3}), &s)
	for _, h := range s.Hits {
		req := mcpgo.ReadResourceRequest{}
		req.Params.URI = h.URI
		res, err := c.ReadResource(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contents) != 1 {
			t.Fatalf("%d contents", len(res.Contents))
		}
		blob, ok := mcpgo.AsBlobResourceContents(res.Contents[0])
		if !ok {
			t.Fatalf("contents %T, want a blob", res.Contents[0])
		}
		data, err := base64.StdEncoding.DecodeString(blob.Blob)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || blob.MIMEType != "image/"+format || cfg.Width != h.Width || cfg.Height != h.Height || blob.URI != h.URI {
			t.Errorf("%s: %s %q %dx%d (hit %dx%d), %v", h.URI, blob.MIMEType, format, cfg.Width, cfg.Height, h.Width, h.Height, err)
		}
	}
	for _, uri := range []string{"image://00000000-0000-5000-8000-000000000000", "image://"} {
		req := mcpgo.ReadResourceRequest{}
		req.Params.URI = uri
		if _, err := c.ReadResource(context.Background(), req); err == nil {
			t.Errorf("read %s: no error", uri)
		}
	}
}

func TestConcurrentCalls(t *testing.T) {
	f := toolstest.Mixed(t)
	c := connect(t, f, tools.Options{})
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

func TestBearerAndLoopback(t *testing.T) {
	h := RequireBearer("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"s3cret", 401}, {"Basic s3cret", 401}, {"Bearer s3cret", 204}} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, w.Code, tc.want)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:8765": true, "localhost:1": true, "[::1]:80": true, ":8765": false, "0.0.0.0:80": false, "192.168.1.5:80": false, "example.com:80": false} {
		if IsLoopbackAddr(addr) != want {
			t.Errorf("IsLoopbackAddr(%q) = %v", addr, !want)
		}
	}
}
