package mcp

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

// EndpointPath is where the streamable HTTP transport is served.
const EndpointPath = "/mcp"

// HTTPHandler returns an http.Handler serving s over the streamable HTTP
// transport at EndpointPath. When token is non-empty every request must carry
// "Authorization: Bearer <token>" (compared in constant time); others get
// 401. Requests arriving on loopback with a non-local Host header are
// refused (DNS rebinding protection).
func HTTPHandler(s *server.MCPServer, token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(EndpointPath, server.NewStreamableHTTPServer(s))
	if token == "" {
		return mux
	}
	return RequireBearer(token, mux)
}

// RequireBearer wraps next so that only requests bearing token get through.
func RequireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		g := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(g[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cliprag"`)
			http.Error(w, "401 Unauthorized: send Authorization: Bearer <token> (the server's --token or CLIPRAG_TOKEN)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsLoopbackAddr reports whether a listen address (host:port) binds only a
// loopback interface. An empty host (all interfaces) is not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
