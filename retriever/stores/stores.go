// Package stores opens a retriever.Store from a user's --store value
// (CLIPRAG_STORE):
//
//   - a directory path: the embedded store (package retriever/local) kept in
//     that directory, created if needed. "~/" is expanded; relative paths are
//     made absolute; "file:///abs/path" is accepted too.
//   - qdrant://host[:port][/collection]: a Qdrant server over gRPC (package
//     retriever/qdrant). The port defaults to 6334 (Qdrant's gRPC port, not
//     its HTTP port 6333) and the collection to "images".
//   - qdrants://host[:port][/collection]: the same over TLS.
//
// The Qdrant API key never goes in the URL: it comes from
// Options.QdrantAPIKey, which the config layer fills from QDRANT_API_KEY.
package stores

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/qdrant"
)

// Kind says which backend a Spec names.
type Kind int

// The backends.
const (
	Local  Kind = iota // the embedded store in a directory
	Qdrant             // a Qdrant server
)

func (k Kind) String() string {
	switch k {
	case Local:
		return "local"
	case Qdrant:
		return "qdrant"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Spec is a parsed --store value.
type Spec struct {
	Kind Kind
	Dir  string // Local: absolute directory

	Host       string // Qdrant: host name or IP (without brackets)
	Port       int    // Qdrant: gRPC port
	Collection string // Qdrant: collection name
	TLS        bool   // Qdrant: qdrants://
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	if s.Kind == Local {
		return s.Dir
	}
	scheme := "qdrant"
	if s.TLS {
		scheme = "qdrants"
	}
	u := url.URL{Scheme: scheme, Host: joinHostPort(s.Host, s.Port), Path: "/" + s.Collection}
	return u.String()
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// Options configures Open.
type Options struct {
	// QdrantAPIKey is sent to Qdrant as its api-key (from QDRANT_API_KEY).
	QdrantAPIKey string
	// QdrantCAFile is a PEM file of CA certificates for qdrants:// servers
	// with a private CA.
	QdrantCAFile string
	// QdrantRetryTimeout bounds how long a Qdrant operation retries
	// transient failures (default 30 s).
	QdrantRetryTimeout time.Duration
	// QdrantOnRetry, when set, hears about each retry (for logging).
	QdrantOnRetry func(op string, attempt int, wait time.Duration, err error)
	// ReadOnly opens an embedded store without taking its writer lock, so
	// that searches run while rag-ingest writes. Qdrant ignores it.
	ReadOnly bool
	// Local configures the embedded store (ReadOnly above is added to it).
	Local local.Options
}

// DefaultCollection is the Qdrant collection used when the spec names none.
const DefaultCollection = qdrant.DefaultCollection

// DefaultPort is the Qdrant gRPC port used when the spec names none.
const DefaultPort = qdrant.DefaultPort

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// Parse parses a --store value. The empty string means DefaultDir().
func Parse(spec string) (Spec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Spec{Kind: Local, Dir: DefaultDir()}, nil
	}
	m := schemeRE.FindStringSubmatch(spec)
	if m == nil {
		return localSpec(spec, spec)
	}
	scheme := strings.ToLower(m[1])
	switch scheme {
	case "qdrant", "qdrants":
	case "file":
		u, err := url.Parse(spec)
		if err != nil {
			return Spec{}, fmt.Errorf("store %q: %w", spec, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Spec{}, fmt.Errorf("store %q: a file URL must name a local path (file:///dir)", spec)
		}
		return localSpec(spec, u.Path)
	default:
		return Spec{}, fmt.Errorf("store %q: unknown scheme %q: use a directory, qdrant://host:6334/collection or qdrants://host:6334/collection", spec, m[1])
	}
	safe := redact(spec) // for messages: no credentials, no query
	u, err := url.Parse(spec)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the whole URL
		}
		return Spec{}, fmt.Errorf("store %q: %w", safe, err)
	}
	if u.User != nil {
		return Spec{}, fmt.Errorf("store %q: do not put credentials in the store URL; set QDRANT_API_KEY instead", safe)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Spec{}, fmt.Errorf("store %q: unexpected query or fragment; the form is %s://host:port/collection (the API key goes in QDRANT_API_KEY)", safe, scheme)
	}
	spec = safe
	s := Spec{Kind: Qdrant, Host: u.Hostname(), Port: DefaultPort, TLS: scheme == "qdrants"}
	if s.Host == "" {
		s.Host = "localhost"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Spec{}, fmt.Errorf("store %q: bad port %q", spec, p)
		}
		s.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Spec{}, fmt.Errorf("store %q: empty port", spec)
	}
	s.Collection = strings.Trim(u.Path, "/")
	if s.Collection == "" {
		s.Collection = DefaultCollection
	}
	if strings.Contains(s.Collection, "/") {
		return Spec{}, fmt.Errorf("store %q: collection %q may not contain '/'; the form is %s://host:port/collection", spec, s.Collection, scheme)
	}
	return s, nil
}

// redact returns spec without user information, query and fragment, which
// may hold secrets, for messages.
func redact(spec string) string {
	if i := strings.IndexAny(spec, "?#"); i >= 0 {
		spec = spec[:i] + "?REDACTED"
	}
	rest := spec
	prefix := ""
	if i := strings.Index(spec, "://"); i >= 0 {
		prefix, rest = spec[:i+3], spec[i+3:]
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		auth = rest[:i]
	}
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		rest = "REDACTED@" + rest[i+1:]
	}
	return prefix + rest
}

// localSpec makes a Local spec of dir, expanding "~" and making it absolute.
func localSpec(spec, dir string) (Spec, error) {
	if dir == "~" || strings.HasPrefix(dir, "~/") || strings.HasPrefix(dir, `~\`) {
		home, err := os.UserHomeDir()
		if err != nil {
			return Spec{}, fmt.Errorf("store %q: expand ~: %w", spec, err)
		}
		dir = filepath.Join(home, dir[1:])
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Spec{}, fmt.Errorf("store %q: %w", spec, err)
	}
	return Spec{Kind: Local, Dir: abs}, nil
}

// Open opens the store a --store value names: the embedded store in a
// directory (created if needed) or a Qdrant collection (checked to answer,
// not created: Store.Ensure creates it).
func Open(ctx context.Context, spec string, opts Options) (retriever.Store, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	return OpenSpec(ctx, s, opts)
}

// OpenSpec opens a parsed spec.
func OpenSpec(ctx context.Context, s Spec, opts Options) (retriever.Store, error) {
	switch s.Kind {
	case Local:
		lopts := opts.Local
		lopts.ReadOnly = lopts.ReadOnly || opts.ReadOnly
		st, err := local.Open(s.Dir, &lopts)
		if err != nil {
			return nil, fmt.Errorf("open index %s: %w", s.Dir, err)
		}
		return st, nil
	case Qdrant:
		st, err := qdrant.Open(ctx, qdrant.Config{
			Host:         s.Host,
			Port:         s.Port,
			Collection:   s.Collection,
			APIKey:       opts.QdrantAPIKey,
			UseTLS:       s.TLS,
			CAFile:       opts.QdrantCAFile,
			RetryTimeout: opts.QdrantRetryTimeout,
			OnRetry:      opts.QdrantOnRetry,
		})
		if err != nil {
			var ue *qdrant.UnreachableError
			if errors.As(err, &ue) {
				return nil, err // already names the address and what to do
			}
			return nil, fmt.Errorf("open %s: %w", s, err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("open store: unknown kind %v", s.Kind)
}

// DefaultDir returns the default index directory, in the user's data
// directory:
//
//   - Linux and other Unix: $XDG_DATA_HOME/cliprag/index, or
//     ~/.local/share/cliprag/index
//   - macOS: ~/Library/Application Support/cliprag/index
//   - Windows: %LocalAppData%\cliprag\index
//
// When no home directory is known it falls back to .cliprag/index under
// the working directory.
func DefaultDir() string {
	home, _ := os.UserHomeDir()
	return defaultDir(runtime.GOOS, os.Getenv, home)
}

func defaultDir(goos string, getenv func(string) string, home string) string {
	join := filepath.Join
	if goos == "windows" {
		// filepath on a non-Windows host would use '/', so build by hand
		// for testability; on Windows this equals filepath.Join.
		join = func(elem ...string) string { return strings.Join(elem, `\`) }
	}
	switch goos {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return join(strings.TrimRight(d, `\/`), "cliprag", "index")
		}
		if home != "" {
			return join(strings.TrimRight(home, `\/`), "AppData", "Local", "cliprag", "index")
		}
	case "darwin", "ios":
		if home != "" {
			return join(home, "Library", "Application Support", "cliprag", "index")
		}
	default:
		if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return join(d, "cliprag", "index")
		}
		if home != "" {
			return join(home, ".local", "share", "cliprag", "index")
		}
	}
	return join(".cliprag", "index")
}
