// Command rag-mcp serves cliprag's image tools to MCP clients (Claude
// Desktop, Claude Code, ...) over stdio (the default) or streamable HTTP.
//
//	rag-mcp --store ~/.local/share/cliprag/index --root ~/Pictures
//	rag-mcp --http 127.0.0.1:8765 --token "$(openssl rand -hex 16)"
//
// Every flag can also come from an environment variable (CLIPRAG_ROOTS,
// CLIPRAG_ALLOW_INGEST, CLIPRAG_TOKEN, ...; see rag-mcp -h), which is how
// MCP client configurations usually pass settings. Logs go to stderr only;
// in stdio mode stdout carries the protocol.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/internal/cli"
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/internal/httpguard"
	"github.com/cliprag/cliprag/mcp"
	"github.com/cliprag/cliprag/tools"
)

var version = "dev"

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if text, ok := config.ExplainError(err); ok {
			fmt.Fprintln(os.Stderr, "rag-mcp: "+text)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "rag-mcp:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rag-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Flags(fs)
	var roots multi
	fs.Var(&roots, "root", "folder whose files the tools may read (repeatable; default: the client's MCP roots when it offers them, else the folders already in the index)")
	allowIngest := fs.Bool("allow-ingest", false, "enable the ingest_images tool (indexes files inside the roots)")
	allowURLs := fs.Bool("allow-urls", false, "let image arguments be http(s) URLs (public addresses only, size and time limited)")
	httpAddr := fs.String("http", "", "serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio")
	token := fs.String("token", "", "bearer token required on every HTTP request; required when --http binds a non-loopback address")
	timeout := fs.Duration("timeout", tools.DefaultTimeout, "time limit of one tool call")
	ingestTags := fs.String("ingest-tags", "", "comma-separated zero-shot tags stored with images that ingest_images adds")
	thumbs := fs.Int("thumbnails", mcp.DefaultThumbnails, fmt.Sprintf("thumbnails per search result unless the call asks otherwise (0 to %d)", mcp.MaxThumbnails))
	thumbSize := fs.Int("thumbnail-size", mcp.DefaultThumbnailSize, fmt.Sprintf("long side of thumbnails in pixels (%d to %d)", mcp.MinThumbnailSize, mcp.MaxThumbnailSize))
	maxSessions := fs.Int("max-sessions", mcp.DefaultMaxSessions, "most HTTP sessions open at once")
	sessionIdle := fs.Duration("session-idle", mcp.DefaultSessionIdle, "an HTTP session unused this long expires")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	ocrIngest := fs.Bool("ocr", false, "ingest_images also reads the text in the images it adds (OCR), as rag-ingest -ocr does")
	ocrModel := fs.String("ocr-model", "", "a folder holding the OCR model files (det, rec, dictionary) for read_image_text (and ingest_images with -ocr), used instead of fetching them on its first call")
	showVersion := fs.Bool("version", false, "print the version and exit")
	for _, b := range []struct{ flag, env string }{
		{"allow-ingest", "CLIPRAG_ALLOW_INGEST"}, {"allow-urls", "CLIPRAG_ALLOW_URLS"}, {"http", "CLIPRAG_HTTP"},
		{"token", "CLIPRAG_TOKEN"}, {"timeout", "CLIPRAG_TIMEOUT"}, {"ingest-tags", "CLIPRAG_INGEST_TAGS"},
		{"thumbnails", "CLIPRAG_THUMBNAILS"}, {"thumbnail-size", "CLIPRAG_THUMBNAIL_SIZE"},
		{"max-sessions", "CLIPRAG_MAX_SESSIONS"}, {"session-idle", "CLIPRAG_SESSION_IDLE"}, {"quiet", "CLIPRAG_QUIET"},
		{"ocr", "CLIPRAG_OCR"}, {"ocr-model", "CLIPRAG_OCR_MODEL"},
	} {
		cfg.Env(fs, b.flag, b.env)
	}
	cfg.EnvList(fs, "root", "CLIPRAG_ROOTS")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: rag-mcp [flags]\n\nServes cliprag's image tools over MCP (stdio by default).\nEvery flag can also be set by the environment variable named beside it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "rag-mcp", version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see rag-mcp -h)", fs.Args())
	}
	if err := cfg.Resolve(fs); err != nil {
		return err
	}
	*token = strings.TrimSpace(*token)
	if *httpAddr != "" {
		if err := httpguard.CheckListen(*httpAddr, *token); err != nil {
			return fmt.Errorf("--http %w: set --token or CLIPRAG_TOKEN", err)
		}
	}
	if *thumbs < 0 || *thumbs > mcp.MaxThumbnails {
		return fmt.Errorf("--thumbnails %d: give 0 to %d", *thumbs, mcp.MaxThumbnails)
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := cli.SignalContext(context.Background(), "rag-mcp", stderr)
	defer stop()

	cfg.ReadOnly = !*allowIngest // searching only: don't lock out rag-ingest
	model, store, err := cfg.Open(ctx, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	defer model.Close()

	// read_image_text loads the OCR engine on its first call that needs it.
	var ocrProgress io.Writer = stderr
	if *quiet {
		ocrProgress = nil
	}
	reader := cfg.TextReader(*ocrModel, progress.Writer(ocrProgress))
	defer reader.Close()

	opts := tools.Options{Roots: roots, AllowIngest: *allowIngest, AllowURLs: *allowURLs, Timeout: *timeout, TextReader: reader, IngestText: *ocrIngest}
	for _, t := range strings.Split(*ingestTags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			opts.IngestTags = append(opts.IngestTags, t)
		}
	}
	svc, err := tools.New(model, store, opts)
	if err != nil {
		return err
	}
	r, err := svc.Roots(ctx)
	if err != nil {
		return err
	}
	if len(roots) == 0 && len(r) == 0 {
		log.Warn("no readable folders yet: the index is empty and no --root was given; path arguments are refused unless the client offers MCP roots")
	}
	n, _ := store.Count(ctx)
	log.Info("serving", "model", model.ID(), "store", store.String(), "images", n, "roots", strings.Join(r, ","),
		"ingest", *allowIngest, "urls", *allowURLs)

	thumbnails := *thumbs
	if thumbnails == 0 {
		thumbnails = -1 // none
	}
	srv, err := mcp.NewServer(svc, mcp.Options{Version: version, Logger: log, Thumbnails: thumbnails, ThumbnailSize: *thumbSize,
		Sessions: mcp.SessionLimits{Max: *maxSessions, Idle: *sessionIdle}})
	if err != nil {
		return err
	}
	if *httpAddr == "" {
		if err := srv.ServeStdio(ctx, stdin, stdout); err != nil {
			return fmt.Errorf("stdio: %w", err)
		}
		log.Info("stopped")
		return nil
	}
	return serveHTTP(ctx, srv, *httpAddr, *token, log)
}

func serveHTTP(ctx context.Context, srv *mcp.Server, addr, token string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	h := srv.HTTPHandler(mcp.HTTPOptions{Token: token})
	hs := httpguard.NewServer(h, httpguard.Timeouts{}, log)
	log.Info("listening", "url", "http://"+ln.Addr().String()+mcp.EndpointPath, "auth", token != "")
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.Shutdown(sctx)
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return nil
}
