// Package web is cliprag's local web page: search the index by text or by
// an example image (dropped, pasted or chosen), filter by tags, folder and
// score, open a result large with its metadata, find images like it,
// classify an image against typed labels, compare two, and see what the
// index holds. Like package mcp it is a thin front end over a
// *tools.Service: every operation is the service's, and every file is
// read through its path checks (tools.Service.LookupImage, ReadImage).
//
// Pages are rendered on the server with html/template and work without
// JavaScript; a little plain JavaScript (static/app.js) adds searching
// without reloading, the result viewer, drag-and-drop and paste, and
// keyboard navigation. Templates, script and style sheet are embedded in
// the binary.
//
// Thumbnails are made once and kept in a bounded cache (see Options), and
// served with ETag and Cache-Control headers.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cliprag/cliprag/internal/httpguard"
	"github.com/cliprag/cliprag/tools"
)

// Defaults.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultTopK            = 48        // results on a page
	DefaultThumbCacheBytes = 256 << 20 // thumbnail cache limit
	ThumbSide              = 256       // grid thumbnails, long side in pixels
	ThumbSide2x            = 512       // the same for high-density screens
	ViewMaxSide            = 2048      // the large view of one image
	statsTTL               = 10 * time.Second
)

// TopKChoices are the result counts the page offers.
var TopKChoices = []int{24, DefaultTopK, tools.MaxTopK}

// Options configures the page. The zero value is usable: thumbnails are
// cached in memory and no token is required.
type Options struct {
	// Token, when set, must come with every request: as the guard's
	// "Authorization: Bearer" header, or, from a browser, once in the URL
	// (?token=), after which the page keeps it in a cookie.
	Token string
	// ThumbDir is the thumbnail cache directory; empty keeps thumbnails in
	// memory only.
	ThumbDir string
	// ThumbCacheBytes limits the cache (default DefaultThumbCacheBytes).
	ThumbCacheBytes int64
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Version is shown in the page footer.
	Version string
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the page. It is an http.Handler.
type Server struct {
	svc    *tools.Service
	opts   Options
	log    *slog.Logger
	pages  map[string]*template.Template
	static map[string]staticFile
	thumbs *thumbCache
	mux    *http.ServeMux
	guard  http.Handler // mux behind the HTTP rules

	statsMu   sync.Mutex
	stats     tools.StatsOutput
	statsTime time.Time
}

// staticFile is an embedded asset with its content hash.
type staticFile struct {
	data  []byte
	etag  string
	ctype string
}

// New returns the page over svc.
func New(svc *tools.Service, opts Options) (*Server, error) {
	if opts.ThumbCacheBytes <= 0 {
		opts.ThumbCacheBytes = DefaultThumbCacheBytes
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{svc: svc, opts: opts, log: log}
	var err error
	if s.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if s.pages, err = loadPages(s.funcs()); err != nil {
		return nil, err
	}
	if s.thumbs, err = openThumbCache(opts.ThumbDir, opts.ThumbCacheBytes, log); err != nil {
		return nil, err
	}
	s.routes()
	s.guard = browserToken(httpguard.Handler(http.HandlerFunc(s.app), httpguard.Options{
		Token: opts.Token,
		// Two uploaded images (compare) and the form around them.
		MaxBodyBytes: 2*svc.Options().MaxDataURIBytes + 1<<20,
		TokenHint:    "open the address rag-search serve printed, which carries ?token=, once; or send the --token or CLIPRAG_TOKEN as a bearer token",
	}))
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.searchPage)
	m.HandleFunc("POST /{$}", s.searchPage)
	m.HandleFunc("GET /view/{id}", s.viewPage)
	m.HandleFunc("GET /classify", s.classifyPage)
	m.HandleFunc("POST /classify", s.classifyPage)
	m.HandleFunc("GET /compare", s.comparePage)
	m.HandleFunc("POST /compare", s.comparePage)
	m.HandleFunc("GET /stats", s.statsPage)
	m.HandleFunc("GET /thumb/{id}", s.thumbnail)
	m.HandleFunc("GET /img/{id}", s.image)
	m.HandleFunc("GET /file/{id}", s.file)
	m.HandleFunc("GET /static/{name}", s.staticAsset)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.assetURL("icon.svg"), http.StatusMovedPermanently)
	})
	s.mux = m
}

// ServeHTTP serves the page behind the rules of package httpguard
// (loopback Host, same Origin, body limit, token), with the security
// headers on every response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// Not no-referrer: with it, browsers send "Origin: null" on form posts,
	// which the guard refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	s.guard.ServeHTTP(w, r)
}

// TokenCookie is the cookie in which a browser keeps the token, base64
// (URL alphabet, no padding), since a cookie holds ASCII only.
const TokenCookie = "cliprag_token"

// browserToken lets a browser present the token, which it cannot put in an
// Authorization header when it follows a link or loads an image: a ?token=
// parameter (in the address the command prints) or the cookie set after
// one was accepted is handed to the guard as the bearer token it checks.
// Nothing is decided here; the guard compares.
func browserToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if t := r.URL.Query().Get("token"); t != "" {
				r.Header.Set("Authorization", "Bearer "+t)
			} else if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
				if t, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
					r.Header.Set("Authorization", "Bearer "+string(t))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// app is what the guard lets through. A request that brought the token in
// its URL gets it as a cookie and is sent on to the same address without
// it, so that the token stays out of the history and of shared links.
func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); s.opts.Token != "" && q.Has("token") && r.Method == http.MethodGet {
		http.SetCookie(w, &http.Cookie{
			Name: TokenCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(q.Get("token"))), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// ThumbCacheStats returns how many thumbnails the cache holds and their bytes.
func (s *Server) ThumbCacheStats() (entries int, bytes int64) { return s.thumbs.stats() }

func loadStatic() (map[string]staticFile, error) {
	out := map[string]staticFile{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := map[string]string{
			".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
		}[path.Ext(p)]
		if ctype == "" {
			return fmt.Errorf("web: static file %s has no content type", p)
		}
		out[path.Base(p)] = staticFile{data: data, etag: hex.EncodeToString(sum[:8]), ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return out, nil
}

// assetURL is the URL of a static file, versioned by its content so that
// it can be cached for good.
func (s *Server) assetURL(name string) string {
	f, ok := s.static[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return "/static/" + name + "?v=" + f.etag
}

func (s *Server) staticAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := `"` + f.etag + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", f.ctype)
	if r.URL.Query().Get("v") == f.etag {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if notModified(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.data)
}

// notModified reports whether the request's If-None-Match names etag.
func notModified(r *http.Request, etag string) bool {
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// indexSummary returns the index statistics the page header and filters
// show, at most statsTTL old, so that a page does not walk the index.
func (s *Server) indexSummary(ctx context.Context) (tools.StatsOutput, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if !s.statsTime.IsZero() && time.Since(s.statsTime) < statsTTL {
		return s.stats, nil
	}
	st, err := s.svc.IndexStats(ctx)
	if err != nil {
		return tools.StatsOutput{}, err
	}
	s.stats, s.statsTime = st, time.Now()
	return st, nil
}

// status is the HTTP status for an error from the service.
func status(err error) int {
	switch {
	case tools.IsInputError(err):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
