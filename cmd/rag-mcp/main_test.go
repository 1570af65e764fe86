package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// setup builds rag-mcp and indexes drawn images with the tiny model; it
// returns the binary, the store directory and the image folder.
func setup(t *testing.T) (bin, store, images string) {
	t.Helper()
	fx := toolstest.NewFixture(t, toolstest.DrawOptions{Seed: 11, ShapeMajor: true}, ingest.Options{})
	fx.Store.Close() // the server opens it
	bin = filepath.Join(t.TempDir(), "rag-mcp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin, fx.Index, fx.Root
}

// env is the environment of the server process: no .env, offline.
func env() []string {
	e := []string{"CLIPRAG_OFFLINE=true", "HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	for _, k := range []string{"ONNXRUNTIME_LIB", "CLIPRAG_CACHE", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			e = append(e, k+"="+v)
		}
	}
	return e
}

func initialize(t *testing.T, c *client.Client) {
	t.Helper()
	req := mcpgo.InitializeRequest{}
	req.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcpgo.Implementation{Name: "cliprag-test", Version: "1"}
	if _, err := c.Initialize(context.Background(), req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

// searchRedCircle calls search_images and checks the top hit.
func searchRedCircle(t *testing.T, c *client.Client) {
	t.Helper()
	req := mcpgo.CallToolRequest{}
	req.Params.Name = "search_images"
	req.Params.Arguments = map[string]any{"query": "a photo of a red circle", "top_k": 3}
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("search: %v", res.Content)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out tools.SearchOutput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Hits) != 3 {
		t.Fatalf("hits %+v", out.Hits)
	}
	if filepath.Base(out.Hits[0].Path) != "red-circle.png" {
		t.Errorf("top hit %s, want red-circle.png", out.Hits[0].Path)
	}
	nimg := 0
	for _, c := range res.Content {
		if _, ok := mcpgo.AsImageContent(c); ok {
			nimg++
		}
	}
	if nimg != 3 {
		t.Errorf("%d thumbnails, want 3", nimg)
	}
	rr := mcpgo.ReadResourceRequest{}
	rr.Params.URI = out.Hits[0].URI
	rres, err := c.ReadResource(context.Background(), rr)
	if err != nil || len(rres.Contents) != 1 {
		t.Fatalf("read %s: %v", rr.Params.URI, err)
	}
	if blob, ok := mcpgo.AsBlobResourceContents(rres.Contents[0]); !ok || blob.MIMEType != "image/png" {
		t.Errorf("resource %+v", rres.Contents[0])
	}
	// A bad argument is a tool error, and the server lives on.
	req.Params.Arguments = map[string]any{"query": "x", "top_k": 1000}
	res, err = c.CallTool(context.Background(), req)
	if err != nil || !res.IsError {
		t.Fatalf("top_k 1000: %v, %+v", err, res)
	}
}

func TestServer(t *testing.T) {
	bin, store, images := setup(t)
	args := []string{"--model", toolstest.ModelRef(), "--store", store, "--root", images}

	t.Run("stdio", func(t *testing.T) {
		tr := transport.NewStdioWithOptions(bin, env(), args, transport.WithCommandFunc(func(ctx context.Context, command string, e []string, a []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, a...)
			cmd.Env = e
			cmd.Dir = t.TempDir()
			return cmd, nil
		}))
		if err := tr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr)
		defer c.Close()
		initialize(t, c)
		searchRedCircle(t, c)
	})

	t.Run("http", func(t *testing.T) {
		cmd := exec.Command(bin, append(args, "--http", "127.0.0.1:0", "--token", "tok-123")...)
		cmd.Env = env()
		cmd.Dir = t.TempDir()
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		t.Cleanup(func() {
			cmd.Process.Kill()
		})
		urlc := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				line := sc.Text()
				t.Log(line)
				if i := strings.Index(line, "url="); i >= 0 && strings.Contains(line, "listening") {
					urlc <- strings.Fields(line[i+4:])[0]
				}
			}
			done <- cmd.Wait()
		}()
		var url string
		select {
		case url = <-urlc:
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("server did not start")
		}
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
		for _, auth := range []string{"", "Bearer wrong"} {
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("Authorization %q: HTTP %d, want 401", auth, resp.StatusCode)
			}
		}
		c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer tok-123"}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		initialize(t, c)
		searchRedCircle(t, c)

		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("no exit within 15 s of SIGTERM")
		}
	})
}

func TestStartupErrors(t *testing.T) {
	bin, store, images := setup(t)
	other := filepath.Join(t.TempDir(), "other")
	st, err := local.Open(other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ensure(context.Background(), retriever.Collection{Model: "clip-vit-b-32", Dim: 512}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	tests := []struct {
		name   string
		args   []string
		errHas string
	}{
		{"token required", []string{"--model", toolstest.ModelRef(), "--store", store, "--http", "0.0.0.0:0"}, "--token"},
		{"wrong model", []string{"--model", toolstest.ModelRef(), "--store", other}, "clip-vit-b-32"},
		{"missing model", []string{"--model", filepath.Join(images, "no-such-model"), "--store", store}, "no-such-model"},
		{"missing root", []string{"--model", toolstest.ModelRef(), "--store", store, "--root", filepath.Join(images, "nope")}, "nope"},
		{"bad flag", []string{"--bogus"}, "bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = env()
			cmd.Dir = t.TempDir()
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Stdin = strings.NewReader("")
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
				t.Fatalf("exit %v, want non-zero; stderr:\n%s", err, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
			last := lastLine(stderr.String())
			if !strings.Contains(last, tc.errHas) || strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stderr %q does not end with one line naming %q", stderr.String(), tc.errHas)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return fmt.Sprint(lines[len(lines)-1])
}

// rpc runs the binary over stdio with requests (after initialize) and
// returns the responses by id.
func rpc(t *testing.T, bin string, args, extraEnv []string, requests ...string) map[string]json.RawMessage {
	t.Helper()
	in := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" + strings.Join(requests, "\n") + "\n"
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env(), extraEnv...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	res := map[string]json.RawMessage{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &m); err == nil && m.ID != nil {
			res[string(m.ID)] = m.Result
		}
	}
	return res
}

// TestEnvironment: every flag can come from the environment, as MCP
// client configurations pass it; a flag beats the environment.
func TestEnvironment(t *testing.T) {
	bin, store, images := setup(t)
	other := t.TempDir()
	reqs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"index_stats","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_images","arguments":{"query":"a red circle"}}}`,
	}
	e := []string{"CLIPRAG_MODEL=" + toolstest.ModelRef(), "CLIPRAG_STORE=" + store, "CLIPRAG_ALLOW_INGEST=true",
		"CLIPRAG_ROOTS=" + images + string(os.PathListSeparator) + other, "CLIPRAG_THUMBNAILS=1", "CLIPRAG_THUMBNAIL_SIZE=64", "CLIPRAG_QUIET=1"}
	for _, tc := range []struct {
		name   string
		args   []string
		thumbs int
		roots  int
	}{
		{"environment only", nil, 1, 2},
		{"flags beat it", []string{"--thumbnails", "2", "--root", images}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rpc(t, bin, tc.args, e, reqs...)
			if !strings.Contains(string(res["1"]), `"ingest_images"`) {
				t.Errorf("CLIPRAG_ALLOW_INGEST: tools %s", res["1"])
			}
			var stats struct {
				StructuredContent tools.StatsOutput `json:"structuredContent"`
			}
			json.Unmarshal(res["2"], &stats)
			if len(stats.StructuredContent.Roots) != tc.roots {
				t.Errorf("roots %v, want %d", stats.StructuredContent.Roots, tc.roots)
			}
			if n := strings.Count(string(res["3"]), `"type":"image"`); n != tc.thumbs {
				t.Errorf("%d thumbnails, want %d", n, tc.thumbs)
			}
		})
	}
	if out, err := exec.Command(bin, "-h").CombinedOutput(); err != nil || !strings.Contains(string(out), "$CLIPRAG_ROOTS") || !strings.Contains(string(out), "$CLIPRAG_ALLOW_URLS") {
		t.Errorf("-h does not name the variables: %v\n%s", err, out)
	}
}
