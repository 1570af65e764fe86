// Package httpguard holds the rules every cliprag HTTP front end applies
// before a request reaches its handler: the MCP server's streamable HTTP
// transport (rag-mcp --http) and the local web page (rag-search serve).
//
//   - Loopback by default: a server that binds a non-loopback address must
//     have a token (CheckListen).
//   - DNS rebinding: a request that arrives on a loopback address must name a
//     loopback host in its Host header (403 otherwise).
//   - Origin: a request that carries an Origin header must come from the
//     server's own origin (403 otherwise), as the MCP specification requires.
//   - Body limit: a declared Content-Length above the limit is refused with
//     413 before anything else happens, authentication included; a body
//     without a declared length is read through the limit, after
//     authentication, so an unauthenticated client never makes the server
//     read its body.
//   - Bearer token: "Authorization: Bearer <token>", the scheme in any case,
//     the token compared in constant time (401 otherwise).
//   - Timeouts: NewServer sets header, read and idle timeouts; the read
//     deadline is lifted once the body is in, so long calls and event
//     streams are not cut.
package httpguard

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultMaxBodyBytes      = 1 << 20 // request bodies
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second // headers and body
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// Options configures Handler. The zero value applies every check with no
// token and the default body limit.
type Options struct {
	// Token, when set, must be presented as "Authorization: Bearer <token>".
	Token string
	// MaxBodyBytes limits request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Realm names the server in WWW-Authenticate (default "cliprag").
	Realm string
	// TokenHint ends the 401 message, telling people where the token comes
	// from (e.g. "the server's --token or CLIPRAG_TOKEN").
	TokenHint string
}

// IsLoopbackAddr reports whether a listen address (host:port, or a bare
// host) binds only a loopback interface. An empty host (all interfaces) is
// not loopback.
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

// ErrTokenRequired is returned by CheckListen for a non-loopback address
// without a token.
var ErrTokenRequired = errors.New("binds a non-loopback address without a token")

// CheckListen refuses to serve a non-loopback address without a token.
func CheckListen(addr, token string) error {
	if token == "" && !IsLoopbackAddr(addr) {
		return fmt.Errorf("%s %w", addr, ErrTokenRequired)
	}
	return nil
}

// Handler wraps next with the checks in the package doc, in this order:
// Host, Origin, declared body size, token, body read through the limit.
// next sees the body already read into memory (r.Body is a bytes reader
// and r.ContentLength its length).
func Handler(next http.Handler, o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Realm == "" {
		o.Realm = "cliprag"
	}
	var want [sha256.Size]byte
	if o.Token != "" {
		want = sha256.Sum256([]byte(o.Token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r) {
			http.Error(w, fmt.Sprintf("403 Forbidden: Host %q is not a local name, and this server listens on loopback", r.Host), http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			http.Error(w, fmt.Sprintf("403 Forbidden: requests from origin %q are not accepted", origin), http.StatusForbidden)
			return
		}
		if r.ContentLength > o.MaxBodyBytes {
			tooLarge(w, o.MaxBodyBytes)
			return
		}
		if o.Token != "" && !TokenMatches(r, want) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", o.Realm))
			msg := "401 Unauthorized: send Authorization: Bearer <token>"
			if o.TokenHint != "" {
				msg += " (" + o.TokenHint + ")"
			}
			http.Error(w, msg, http.StatusUnauthorized)
			return
		}
		if err := readBody(w, r, o.MaxBodyBytes); err != nil {
			var tl *http.MaxBytesError
			if errors.As(err, &tl) {
				tooLarge(w, o.MaxBodyBytes)
				return
			}
			http.Error(w, "400 Bad Request: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		// The body is in: lift the read deadline so that a long call or an
		// event stream outlives the server's ReadTimeout.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter, max int64) {
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("413 Request Entity Too Large: request bodies are limited to %d bytes", max), http.StatusRequestEntityTooLarge)
}

// readBody reads r's body through the limit and puts it back in memory.
func readBody(w http.ResponseWriter, r *http.Request, max int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	r.Body.Close()
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	return nil
}

// TokenMatches reports whether r carries "Authorization: Bearer <token>"
// whose SHA-256 is want. The scheme is matched in any case (RFC 9110) and
// the digests are compared in constant time.
func TokenMatches(r *http.Request, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// hostAllowed is the DNS rebinding check: on a loopback connection the Host
// header must be a loopback name.
func hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil || !IsLoopbackAddr(local.String()) {
		return true
	}
	return IsLoopbackAddr(r.Host)
}

// sameOrigin reports whether an Origin header names the server's own
// origin, the host the request was addressed to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(withPort(u.Host, u.Scheme), withPort(host, u.Scheme))
}

// withPort returns host as host:port, the scheme's default port made explicit.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

// Timeouts are the HTTP server's limits; zero fields take the defaults.
type Timeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // headers and body; lifted by Handler once the body is in
	Idle       time.Duration // keep-alive connections between requests
}

// NewServer returns an http.Server for h with the timeouts set and no
// write timeout (responses may stream). log receives the server's own
// errors; nil discards them.
func NewServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultReadHeaderTimeout
	}
	if t.Read <= 0 {
		t.Read = DefaultReadTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}
	if log != nil {
		hs.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return hs
}
