package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cliprag/cliprag/internal/httpguard"
)

// EndpointPath is where the streamable HTTP transport is served.
const EndpointPath = "/mcp"

// HTTPOptions configures the streamable HTTP transport.
type HTTPOptions struct {
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token string
	// MaxBodyBytes limits request bodies (default: room for the largest
	// data URI the service accepts, base64-encoded, plus 1 MiB).
	MaxBodyBytes int64
}

// HTTPHandler serves the server over streamable HTTP at EndpointPath.
type HTTPHandler struct {
	h         http.Handler
	transport *server.StreamableHTTPServer
}

// ServeHTTP implements http.Handler.
func (t *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.h.ServeHTTP(w, r) }

// Shutdown ends every session, releasing open event streams.
func (t *HTTPHandler) Shutdown(ctx context.Context) { t.transport.CloseSessions(ctx) }

// HTTPHandler returns the streamable HTTP transport behind the rules of
// package httpguard (Host and Origin checks, body limit, bearer token),
// with stateful sessions: initialize mints a session id that every later
// request must carry (400 without one); a session ends with DELETE or
// after Options.Sessions.Idle unused (404 afterwards, as for an id never
// issued); past Options.Sessions.Max new sessions get 503.
func (s *Server) HTTPHandler(o HTTPOptions) *HTTPHandler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = (s.h.svc.Options().MaxDataURIBytes+2)/3*4 + 1<<20
	}
	tr := server.NewStreamableHTTPServer(s.srv,
		server.WithSessionIdManager(s.sessions),
		server.WithSessionIdleTTL(s.sessions.limits.Idle),
		server.WithStreamableHTTPLogger(s.opts.Logger),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, headerVersionKey{}, r.Header.Get(mcpgo.HeaderProtocolVersion))
		}),
	)
	mux := http.NewServeMux()
	mux.Handle(EndpointPath, s.sessionGate(tr))
	guarded := httpguard.Handler(mux, httpguard.Options{Token: o.Token, MaxBodyBytes: o.MaxBodyBytes,
		TokenHint: "the server's --token or CLIPRAG_TOKEN"})
	return &HTTPHandler{h: guarded, transport: tr}
}

// sessionGate answers what the transport would get wrong: a request
// without a session id (other than initialize) gets 400, and initialize
// past the session cap gets 503. Requests of protocol 2026-07-28 and
// later, which have no sessions, pass.
func (s *Server) sessionGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mcpgo.IsModernProtocol(r.Header.Get(mcpgo.HeaderProtocolVersion)) {
			next.ServeHTTP(w, r)
			return
		}
		hasSession := r.Header.Get(server.HeaderKeySessionID) != ""
		switch r.Method {
		case http.MethodGet, http.MethodDelete:
			if !hasSession {
				badRequest(w, "an Mcp-Session-Id header is required: initialize first")
				return
			}
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body) // already in memory (httpguard)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var msg struct {
				Method string `json:"method"`
				Params struct {
					Meta map[string]any `json:"_meta"`
				} `json:"params"`
			}
			_ = json.Unmarshal(body, &msg)
			if v, _ := msg.Params.Meta[mcpgo.MetaKeyProtocolVersion].(string); mcpgo.IsModernProtocol(v) {
				break
			}
			if msg.Method == string(mcpgo.MethodInitialize) {
				if s.sessions.full() {
					w.Header().Set("Retry-After", "60")
					http.Error(w, fmt.Sprintf("503 Service Unavailable: %d sessions are open, the most this server keeps; end one with DELETE or wait for one to expire", s.sessions.limits.Max),
						http.StatusServiceUnavailable)
					return
				}
				break
			}
			if !hasSession {
				badRequest(w, "an Mcp-Session-Id header is required: send initialize first and then the session id it returned")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// badRequest answers 400 with a JSON-RPC error body.
func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": mcpgo.INVALID_REQUEST, "message": "Bad Request: " + msg}})
}
