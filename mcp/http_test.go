package mcp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/toolstest"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// httpServer serves a Server over streamable HTTP on 127.0.0.1.
func httpServer(t *testing.T, limits SessionLimits, token string) (*Server, string) {
	t.Helper()
	f := toolstest.Mixed(t)
	svc, err := tools.New(toolstest.Model(t), f.Store, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(svc, Options{Sessions: limits})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.HTTPHandler(HTTPOptions{Token: token})
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Shutdown(context.Background())
		hs.Close()
	})
	return srv, hs.URL + EndpointPath
}

// post sends one JSON-RPC message and returns the status, session id and body.
func post(t *testing.T, url, body string, headers map[string]string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b)
}

func TestHTTPSessions(t *testing.T) {
	srv, url := httpServer(t, SessionLimits{Max: 3, Idle: time.Minute}, "")
	ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	code, sid, body := post(t, url, initBody, nil)
	if code != 200 || sid == "" {
		t.Fatalf("initialize: %d %q %s", code, sid, body)
	}
	withSID := map[string]string{"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
	if code, _, body := post(t, url, ping, withSID); code != 200 {
		t.Errorf("ping in the session: %d %s", code, body)
	}
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
		want    int
	}{
		{"no session id", ping, nil, 400},
		{"no session id, notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil, 400},
		{"unknown session id", ping, map[string]string{"Mcp-Session-Id": "cliprag-0000"}, 404},
		{"foreign origin", ping, map[string]string{"Mcp-Session-Id": sid, "Origin": "https://evil.example"}, 403},
		{"foreign origin, initialize", initBody, map[string]string{"Origin": "http://attacker.test"}, 403},
	} {
		if code, _, body := post(t, url, tc.body, tc.headers); code != tc.want {
			t.Errorf("%s: HTTP %d (%s), want %d", tc.name, code, body, tc.want)
		}
	}
	for _, method := range []string{"GET", "DELETE"} {
		req, _ := http.NewRequest(method, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s without a session id: %d, want 400", method, resp.StatusCode)
		}
	}
	// A deleted session is gone.
	req, _ := http.NewRequest("DELETE", url, nil)
	req.Header.Set("Mcp-Session-Id", sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if code, _, body := post(t, url, ping, withSID); code != 404 {
		t.Errorf("ping in a deleted session: %d %s, want 404", code, body)
	}
	// The cap: 3 sessions, then 503 until one ends.
	var sids []string
	for i := range 4 {
		code, sid, body := post(t, url, initBody, nil)
		if i < 3 && code != 200 || i == 3 && code != 503 {
			t.Errorf("session %d: HTTP %d %s", i+1, code, body)
		}
		if sid != "" {
			sids = append(sids, sid)
		}
	}
	if n := srv.sessions.count(); n != 3 {
		t.Errorf("%d sessions held, want 3", n)
	}
	// Expiry: a session unused for Idle is gone (404), and frees its place.
	now := time.Now()
	srv.sessions.now = func() time.Time { return now.Add(2 * time.Minute) }
	if code, _, _ := post(t, url, ping, map[string]string{"Mcp-Session-Id": sids[0]}); code != 404 {
		t.Errorf("ping in an expired session: %d, want 404", code)
	}
	if code, _, body := post(t, url, initBody, nil); code != 200 {
		t.Errorf("initialize after expiry: %d %s", code, body)
	}
}

// TestHTTPLimits: the body limit comes before the token, and a client
// with the token works through mcp-go's own streamable HTTP client,
// getting results for its negotiated version.
func TestHTTPLimits(t *testing.T) {
	_, url := httpServer(t, SessionLimits{}, "tok")
	huge := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"%s"}}`, strings.Repeat("x", 16<<20))
	if code, _, _ := post(t, url, huge, nil); code != 413 {
		t.Errorf("16 MB without a token: %d, want 413", code)
	}
	if code, _, _ := post(t, url, initBody, map[string]string{"Authorization": "bearer tok"}); code != 200 {
		t.Errorf("lower-case bearer: %d", code)
	}
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer tok"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2025-03-26", "2025-11-25"} {
		req := mcpgo.InitializeRequest{}
		req.Params.ProtocolVersion = v
		req.Params.ClientInfo = mcpgo.Implementation{Name: "t", Version: "1"}
		if _, err := c.Initialize(ctx, req); err != nil {
			t.Fatal(err)
		}
		creq := mcpgo.CallToolRequest{}
		creq.Params.Name = ToolSearch
		creq.Params.Arguments = map[string]any{"query": "a red circle", "top_k": 2}
		res, err := c.CallTool(ctx, creq)
		if err != nil || res.IsError {
			t.Fatalf("%s: search over HTTP: %v", v, err)
		}
		if n := len(links(res)); (n == 2) != (v >= "2025-06-18") {
			t.Errorf("%s: %d resource links", v, n)
		}
	}
}
