package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/internal/httpguard"
	"github.com/cliprag/cliprag/internal/web"
	"github.com/cliprag/cliprag/tools"
)

// serveFlags are serve's flags.
type serveFlags struct {
	*common
	addr       *string
	token      *string
	roots      stringList
	timeout    *time.Duration
	thumbDir   *string
	thumbLimit *int
}

var serveCmd = newCommand("serve", "",
	"a web page to search and look at the index",
	`Serve a web page over the index: search by text or by an example image
(dropped, pasted or chosen), filter by tags, folder and score, open a
result large with "similar images", classify an image against typed
labels, compare two, and see what the index holds.

It listens on 127.0.0.1:8080 by default, reachable from this machine only.
An address that other machines can reach (--addr 0.0.0.0:8080) needs a
--token; open the address printed at start, which carries it once.
Requests must name a local host and, when they carry an Origin, come from
the page itself; files are read only inside the indexed folders (or
--root). Thumbnails are made once and cached, in the cache directory by
default.

Examples:
  rag-search serve
  rag-search serve --addr 127.0.0.1:9000 --store ./index
  rag-search serve --addr 0.0.0.0:8080 --token "$(openssl rand -hex 16)"`,
	func(fs *flag.FlagSet) runCmd {
		f := &serveFlags{
			common:     &common{cfg: config.Flags(fs), json: new(bool)},
			addr:       fs.String("addr", web.DefaultAddr, "address to listen on (host:port)"),
			token:      fs.String("token", "", "token every request must bring (required when --addr is not a loopback address)"),
			timeout:    fs.Duration("timeout", tools.DefaultTimeout, "time limit of one operation"),
			thumbDir:   fs.String("thumbnail-cache", "", "folder of the thumbnail cache (default: thumbnails in the cache directory; \"memory\" keeps them in memory)"),
			thumbLimit: fs.Int("thumbnail-cache-mb", web.DefaultThumbCacheBytes>>20, "size limit of the thumbnail cache in MB"),
		}
		f.quiet = fs.Bool("quiet", false, "log warnings and errors only")
		fs.Var(&f.roots, "root", "folder whose files the page may show (repeatable; default: the folders of the indexed images)")
		f.cfg.Env(fs, "addr", "CLIPRAG_ADDR")
		f.cfg.Env(fs, "token", "CLIPRAG_TOKEN")
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) != 0 {
				return usageErr("serve: takes no arguments, got %q (see rag-search help serve)", pos)
			}
			if err := f.cfg.Resolve(fs); err != nil {
				return usageErr("%v", err)
			}
			return f.serve(ctx, e)
		}
	})

// thumbCacheDir is where the thumbnail cache lives: --thumbnail-cache, or
// "thumbnails" in cliprag's cache directory. Not beside the index: the
// index may be a Qdrant collection, or a folder opened read-only while
// rag-ingest writes it; thumbnails are derived data that can be made again,
// keyed by content, so one cache serves every index.
func (f *serveFlags) thumbCacheDir() (string, error) {
	switch d := *f.thumbDir; d {
	case "memory":
		return "", nil
	case "":
	default:
		return d, nil
	}
	cache := f.cfg.CacheDir
	if cache == "" {
		d, err := hub.CacheDir()
		if err != nil {
			return "", usageErr("%v (or give --thumbnail-cache)", err)
		}
		cache = d
	}
	return filepath.Join(cache, "thumbnails"), nil
}

func (f *serveFlags) serve(ctx context.Context, e *env) error {
	token := strings.TrimSpace(*f.token)
	if err := httpguard.CheckListen(*f.addr, token); err != nil {
		return usageErr("--addr %v: set --token or CLIPRAG_TOKEN", err)
	}
	if *f.thumbLimit < 1 {
		return usageErr("--thumbnail-cache-mb must be at least 1, got %d", *f.thumbLimit)
	}
	thumbs, err := f.thumbCacheDir()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *f.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	m, st, err := f.openIndexAndModel(ctx, e)
	if err != nil {
		return err
	}
	defer m.Close()
	defer st.Close()
	svc, err := tools.New(m, st, tools.Options{Roots: f.roots, Timeout: *f.timeout})
	if err != nil {
		return fmt.Errorf("tools: %w", err)
	}
	page, err := web.New(svc, web.Options{
		Token: token, ThumbDir: thumbs, ThumbCacheBytes: int64(*f.thumbLimit) << 20, Logger: log, Version: version,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *f.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *f.addr, err)
	}
	n, _ := st.Count(ctx)
	fmt.Fprintf(e.stderr, "rag-search: serving %s (model %s, %d images)\n", pageURL(ln.Addr().String(), token), m.ID(), n)
	return serveUntil(ctx, httpguard.NewServer(page, httpguard.Timeouts{}, log), ln, e.stderr)
}

// pageURL is the address to open: with the token, when there is one, so
// that the browser can keep it (the page moves it into a cookie).
func pageURL(addr, token string) string {
	u := url.URL{Scheme: "http", Host: addr, Path: "/"}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "0.0.0.0" || host == "::") {
		u.Host = net.JoinHostPort("localhost", port)
	}
	if token != "" {
		u.RawQuery = url.Values{"token": {token}}.Encode()
	}
	return u.String()
}

// serveUntil serves on ln until ctx ends, then lets requests in flight
// finish for up to 5 seconds.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener, stderr io.Writer) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stderr, "rag-search: stopped")
	return nil
}
