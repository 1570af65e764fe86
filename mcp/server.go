// Package mcp serves cliprag's image tools over the Model Context Protocol
// (github.com/mark3labs/mcp-go). It is a thin front end over a
// *tools.Service: each tool returns a short text summary, small JPEG
// thumbnails a multimodal model can look at, structured content matching
// its output schema, and an image://ID resource link per hit; resources/read
// on such a link returns the image itself (downscaled to at most 1024 px).
//
// What a result carries follows the protocol version the client
// negotiated: clients before 2025-06-18 get no resource_link (their schema
// has none) and the structured content serialized as JSON text as well.
// Calls that send a progressToken get progress notifications; the logging
// capability forwards warnings and errors to clients that ask for them;
// image://{id} completes ids. When no --root was given and the client
// offers roots, the client's roots are the folders the tools may read.
//
// It is the only package that imports mcp-go.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cliprag/cliprag/tools"
)

// Thumbnail limits: the defaults keep a 5-hit search over photos near
// 30 KB (4 thumbnails of 160 px: about 27 KB of base64 JPEG, measured by
// TestResultSize over examples/images); a call may ask for up to
// MaxThumbnails of up to MaxThumbnailSize pixels.
const (
	DefaultThumbnails    = 4
	DefaultThumbnailSize = 160
	MaxThumbnails        = 10
	MinThumbnailSize     = 32
	MaxThumbnailSize     = 512
	DefaultRootsTimeout  = 5 * time.Second
)

// Tool names.
const (
	ToolSearch   = "search_images"
	ToolSimilar  = "find_similar_images"
	ToolClassify = "classify_image"
	ToolCompare  = "compare_images"
	ToolIngest   = "ingest_images"
	ToolStats    = "index_stats"
	ToolReadText = "read_image_text"
)

// ImageURITemplate is the resource template of indexed images.
const ImageURITemplate = "image://{id}"

// Options configures the server.
type Options struct {
	Name    string       // server name (default "cliprag")
	Version string       // server version (default "dev")
	Logger  *slog.Logger // tool failures and recovered panics; nil discards
	// Thumbnails is how many thumbnails a search result carries unless the
	// call says otherwise: 0 takes DefaultThumbnails, a negative value
	// means none. At most MaxThumbnails.
	Thumbnails int
	// ThumbnailSize is the long side of thumbnails in pixels unless the
	// call says otherwise (default DefaultThumbnailSize; MinThumbnailSize
	// to MaxThumbnailSize).
	ThumbnailSize int
	// RootsTimeout bounds a roots/list request to the client (default
	// DefaultRootsTimeout); past it the call goes on with the index's folders.
	RootsTimeout time.Duration
	// Sessions bounds the streamable HTTP sessions (zero: the defaults).
	Sessions SessionLimits
}

// Server is an MCP server over a *tools.Service, ready to serve over stdio
// (ServeStdio) or streamable HTTP (HTTPHandler).
type Server struct {
	srv      *server.MCPServer
	h        *handlers
	sessions *sessions
	opts     Options
}

// NewServer returns an MCP server exposing svc's operations as tools and
// indexed images as image://{id} resources. ingest_images is registered
// only when the service allows ingest.
func NewServer(svc *tools.Service, opts Options) (*Server, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, sessions: newSessions(opts.Sessions)}
	lh := &clientLogHandler{next: opts.Logger.Handler()}
	s.h = &handlers{svc: svc, log: slog.New(lh), opts: opts, sessions: s.sessions}
	lh.h = s.h
	hooks := &server.Hooks{}
	hooks.AddAfterInitialize(s.sessions.initialized)
	hooks.AddBeforeReadResource(s.h.checkResource)
	hooks.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) { s.sessions.end(cs.SessionID()) })
	s.srv = server.NewMCPServer(opts.Name, opts.Version,
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithResourceCompletionProvider(s.h),
		server.WithHooks(hooks),
		server.WithResourceRecovery(),
		server.WithInstructions(instructions(svc)),
	)
	s.h.srv = s.srv
	for _, t := range s.h.tools() {
		s.srv.AddTool(t.tool, s.h.wrap(t.tool.Name, t.run))
	}
	s.srv.AddResourceTemplate(mcpgo.NewResourceTemplate(ImageURITemplate, "Indexed image",
		mcpgo.WithTemplateTitle("Indexed image"),
		mcpgo.WithTemplateDescription("An indexed image by id, downscaled to at most 1024 px on the long side.")),
		s.h.readImage)
	s.srv.AddNotificationHandler(string(mcpgo.MethodNotificationRootsListChanged), func(ctx context.Context, _ mcpgo.JSONRPCNotification) {
		if id := sessionID(ctx); id != "" {
			s.sessions.rootsChanged(id)
			s.h.log.InfoContext(ctx, "client roots changed; they are read again at the next call", "session", id)
		}
	})
	return s, nil
}

func (o *Options) fill() error {
	if o.Name == "" {
		o.Name = "cliprag"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case o.Thumbnails == 0:
		o.Thumbnails = DefaultThumbnails
	case o.Thumbnails < 0:
		o.Thumbnails = 0
	case o.Thumbnails > MaxThumbnails:
		return fmt.Errorf("thumbnails: at most %d, got %d", MaxThumbnails, o.Thumbnails)
	}
	if o.ThumbnailSize == 0 {
		o.ThumbnailSize = DefaultThumbnailSize
	}
	if o.ThumbnailSize < MinThumbnailSize || o.ThumbnailSize > MaxThumbnailSize {
		return fmt.Errorf("thumbnail size: %d pixels is outside %d to %d", o.ThumbnailSize, MinThumbnailSize, MaxThumbnailSize)
	}
	if o.RootsTimeout <= 0 {
		o.RootsTimeout = DefaultRootsTimeout
	}
	return nil
}

func instructions(svc *tools.Service) string {
	b := &strings.Builder{}
	b.WriteString("cliprag searches an index of images with CLIP. Use search_images to find images from a description, " +
		"find_similar_images to find images like an example, classify_image to pick labels for an image, compare_images to score two images, " +
		"and index_stats to see what is indexed. An image argument is one string: a file path, the id of a hit, its image://ID URI or a data: URI. " +
		"Hits carry an id and an image://ID resource with the picture.")
	if svc.Options().AllowIngest {
		b.WriteString(" ingest_images adds files or folders inside the allowed roots to the index.")
	}
	return b.String()
}

type handlers struct {
	svc      *tools.Service
	srv      *server.MCPServer
	log      *slog.Logger
	opts     Options
	sessions *sessions
}

// wrap turns errors and panics into tool results with isError set, so a bad
// call never becomes a protocol error or takes the server down, and sends
// progress notifications when the call asked for them.
func (h *handlers) wrap(name string, run func(context.Context, *toolCall) (*mcpgo.CallToolResult, error)) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (res *mcpgo.CallToolResult, err error) {
		c := &toolCall{req: req, svc: h.svc}
		if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
			p := h.startProgress(ctx, req.Params.Meta.ProgressToken)
			c.progress = p
			defer p.finish()
		}
		defer func() {
			if r := recover(); r != nil {
				h.log.ErrorContext(ctx, "panic in tool", "tool", name, "panic", r, "stack", string(debug.Stack()))
				res, err = mcpgo.NewToolResultError(fmt.Sprintf("internal error in %s: %v", name, r)), nil
			}
		}()
		c.svc = h.service(ctx)
		res, err = run(ctx, c)
		if err != nil {
			return h.toolError(ctx, name, err), nil
		}
		return res, nil
	}
}

// toolCall is one tool call: its request, the service scoped to the caller's
// roots and the progress it reports.
type toolCall struct {
	req      mcpgo.CallToolRequest
	svc      *tools.Service
	progress *progress // nil when the client sent no progressToken
}

func (h *handlers) toolError(ctx context.Context, name string, err error) *mcpgo.CallToolResult {
	var ae *argError
	var ie *tools.InputError
	switch {
	case errors.As(err, &ae):
		h.log.InfoContext(ctx, "bad arguments", "tool", name, "err", err)
		return mcpgo.NewToolResultError("invalid arguments: " + ae.msg)
	case errors.As(err, &ie):
		h.log.InfoContext(ctx, "bad arguments", "tool", name, "err", err)
		field, _, _ := strings.Cut(ie.Field, ".") // image.path → image: the argument as the client named it
		msg := ie.Msg
		if field != "" {
			msg = field + ": " + msg
		}
		return mcpgo.NewToolResultError("invalid arguments: " + msg)
	case errors.Is(err, context.DeadlineExceeded):
		h.log.WarnContext(ctx, "tool timed out", "tool", name, "err", err)
		return mcpgo.NewToolResultError(fmt.Sprintf("%s timed out (limit %s): %v", name, h.svc.Options().Timeout, err))
	case errors.Is(err, context.Canceled):
		return mcpgo.NewToolResultError(name + " was cancelled")
	}
	h.log.ErrorContext(ctx, "tool failed", "tool", name, "err", err)
	return mcpgo.NewToolResultError(name + " failed: " + err.Error())
}

// sessionID returns the id of the session a request came in on.
func sessionID(ctx context.Context) string {
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		return cs.SessionID()
	}
	return ""
}
