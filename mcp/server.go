// Package mcp serves cliprag's image tools over the Model Context Protocol
// (github.com/mark3labs/mcp-go). It is a thin front end over a
// *tools.Service: each tool returns structured content matching its output
// schema, a short text summary, small JPEG thumbnails a multimodal model can
// look at, and an image://ID resource link per hit; resources/read on such a
// link returns the image itself (downscaled to at most 1024 px).
//
// It is the only package that imports mcp-go's server and protocol types.
package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

// MaxThumbnails is the most thumbnails one tool result carries.
const MaxThumbnails = 4

// Tool names.
const (
	ToolSearch   = "search_images"
	ToolSimilar  = "find_similar_images"
	ToolClassify = "classify_image"
	ToolCompare  = "compare_images"
	ToolIngest   = "ingest_images"
	ToolStats    = "index_stats"
)

// ImageURITemplate is the resource template of indexed images.
const ImageURITemplate = "image://{id}"

// Options configures the server.
type Options struct {
	Name    string       // server name (default "cliprag")
	Version string       // server version (default "dev")
	Logger  *slog.Logger // tool failures and recovered panics; nil discards
}

// NewServer returns an MCP server exposing svc's operations as tools and
// indexed images as image://{id} resources. ingest_images is registered
// only when the service allows ingest.
func NewServer(svc *tools.Service, opts Options) *server.MCPServer {
	if opts.Name == "" {
		opts.Name = "cliprag"
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handlers{svc: svc, log: opts.Logger}
	s := server.NewMCPServer(opts.Name, opts.Version,
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithInputSchemaValidation(),
		server.WithResourceRecovery(),
		server.WithInstructions(instructions(svc)),
	)
	openWorld := svc.Options().AllowURLs
	readOnly := func(name, title, desc string) []mcpgo.ToolOption {
		return []mcpgo.ToolOption{
			mcpgo.WithDescription(desc),
			mcpgo.WithToolTitle(title),
			mcpgo.WithTitleAnnotation(title),
			mcpgo.WithReadOnlyHintAnnotation(true),
			mcpgo.WithDestructiveHintAnnotation(false),
			mcpgo.WithIdempotentHintAnnotation(true),
			mcpgo.WithOpenWorldHintAnnotation(openWorld),
		}
	}
	s.AddTool(mcpgo.NewTool(ToolSearch, append(readOnly(ToolSearch, "Search images",
		"Find indexed images that match a text description (CLIP text-to-image search). "+
			"Returns hits best first with id, path, score (cosine similarity), size and tags, thumbnails of the first hits, and an image://ID link per hit. "+
			"Scores are relative: compare them within one result list."),
		mcpgo.WithInputSchema[tools.SearchInput](), mcpgo.WithOutputSchema[tools.SearchOutput]())...),
		h.wrap(ToolSearch, mcpgo.NewTypedToolHandler(h.search)))
	s.AddTool(mcpgo.NewTool(ToolSimilar, append(readOnly(ToolSimilar, "Find similar images",
		"Find indexed images that look like an example image (CLIP image-to-image search). "+
			"The example is a path inside the allowed roots, the id of an indexed image, a base64 data URI, or a URL when the server allows URLs. "+
			"The example itself is left out of the hits."),
		mcpgo.WithInputSchema[tools.SimilarInput](), mcpgo.WithOutputSchema[tools.SearchOutput]())...),
		h.wrap(ToolSimilar, mcpgo.NewTypedToolHandler(h.similar)))
	s.AddTool(mcpgo.NewTool(ToolClassify, append(readOnly(ToolClassify, "Classify image",
		"Zero-shot classify an image against candidate labels (CLIP): returns every label with a probability, best first; the probabilities sum to 1. "+
			"Use a template such as \"a diagram of {}.\" to match the kind of image."),
		mcpgo.WithInputSchema[tools.ClassifyInput](), mcpgo.WithOutputSchema[tools.ClassifyOutput]())...),
		h.wrap(ToolClassify, mcpgo.NewTypedToolHandler(h.classify)))
	s.AddTool(mcpgo.NewTool(ToolCompare, append(readOnly(ToolCompare, "Compare images",
		"Compare two images: cosine similarity of their CLIP embeddings and (cosine+1)/2. Near-duplicates score close to 1."),
		mcpgo.WithInputSchema[tools.CompareInput](), mcpgo.WithOutputSchema[tools.CompareOutput]())...),
		h.wrap(ToolCompare, mcpgo.NewTypedToolHandler(h.compare)))
	s.AddTool(mcpgo.NewTool(ToolStats, append(readOnly(ToolStats, "Index statistics",
		"Describe the image index: model, store, number of images, tags with counts, and the folders whose files may be referenced by path."),
		mcpgo.WithInputSchema[tools.StatsInput](), mcpgo.WithOutputSchema[tools.StatsOutput]())...),
		h.wrap(ToolStats, mcpgo.NewTypedToolHandler(h.stats)))
	if svc.Options().AllowIngest {
		s.AddTool(mcpgo.NewTool(ToolIngest,
			mcpgo.WithDescription("Index image files or folders inside the allowed roots so they can be searched. "+
				"Incremental: unchanged files are skipped. Returns how many images were indexed, skipped or failed."),
			mcpgo.WithToolTitle("Index images"),
			mcpgo.WithTitleAnnotation("Index images"),
			mcpgo.WithReadOnlyHintAnnotation(false),
			mcpgo.WithDestructiveHintAnnotation(false),
			mcpgo.WithIdempotentHintAnnotation(true),
			mcpgo.WithOpenWorldHintAnnotation(false),
			mcpgo.WithInputSchema[tools.IngestInput](), mcpgo.WithOutputSchema[ingest.Summary]()),
			h.wrap(ToolIngest, mcpgo.NewTypedToolHandler(h.ingest)))
	}
	s.AddResourceTemplate(mcpgo.NewResourceTemplate(ImageURITemplate, "Indexed image",
		mcpgo.WithTemplateTitle("Indexed image"),
		mcpgo.WithTemplateDescription("An indexed image by id, downscaled to at most 1024 px on the long side.")),
		h.readImage)
	return s
}

func instructions(svc *tools.Service) string {
	b := &strings.Builder{}
	b.WriteString("cliprag searches an index of images with CLIP. Use search_images to find images from a description, " +
		"find_similar_images to find images like an example, classify_image to pick labels for an image, compare_images to score two images, " +
		"and index_stats to see what is indexed. Hits carry an id usable as {\"id\": ...} in image arguments and an image://ID resource with the picture.")
	if svc.Options().AllowIngest {
		b.WriteString(" ingest_images adds files or folders inside the allowed roots to the index.")
	}
	return b.String()
}

type handlers struct {
	svc *tools.Service
	log *slog.Logger
}

// wrap turns errors and panics into tool results with isError set, so a bad
// call never becomes a protocol error or takes the server down.
func (h *handlers) wrap(name string, next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (res *mcpgo.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				h.log.Error("panic in tool", "tool", name, "panic", r, "stack", string(debug.Stack()))
				res, err = mcpgo.NewToolResultError(fmt.Sprintf("internal error in %s: %v", name, r)), nil
			}
		}()
		res, err = next(ctx, req)
		if err != nil {
			return h.toolError(name, err), nil
		}
		return res, nil
	}
}

func (h *handlers) toolError(name string, err error) *mcpgo.CallToolResult {
	switch {
	case tools.IsInputError(err):
		h.log.Info("bad arguments", "tool", name, "err", err)
		return mcpgo.NewToolResultError("invalid arguments: " + err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		h.log.Warn("tool timed out", "tool", name, "err", err)
		return mcpgo.NewToolResultError(fmt.Sprintf("%s timed out (limit %s): %v", name, h.svc.Options().Timeout, err))
	case errors.Is(err, context.Canceled):
		return mcpgo.NewToolResultError(name + " was cancelled")
	}
	h.log.Error("tool failed", "tool", name, "err", err)
	return mcpgo.NewToolResultError(name + " failed: " + err.Error())
}

func (h *handlers) search(ctx context.Context, _ mcpgo.CallToolRequest, in tools.SearchInput) (*mcpgo.CallToolResult, error) {
	out, err := h.svc.SearchImages(ctx, in)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("%d image(s) for %q", len(out.Hits), out.Query)
	return h.hitsResult(ctx, out, head, in.IncludeImages), nil
}

func (h *handlers) similar(ctx context.Context, _ mcpgo.CallToolRequest, in tools.SimilarInput) (*mcpgo.CallToolResult, error) {
	out, err := h.svc.FindSimilar(ctx, in)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("%d image(s) similar to %s", len(out.Hits), out.Query)
	return h.hitsResult(ctx, out, head, in.IncludeImages), nil
}

// hitsResult builds the result of a search: structured hits, a text line
// per hit, up to MaxThumbnails thumbnails and an image:// link per hit.
func (h *handlers) hitsResult(ctx context.Context, out tools.SearchOutput, head string, include *bool) *mcpgo.CallToolResult {
	if out.Hits == nil {
		out.Hits = []tools.Hit{}
	}
	b := &strings.Builder{}
	b.WriteString(head)
	if len(out.Hits) == 0 {
		b.WriteString(". The index may be empty or the filters too narrow; index_stats shows what is indexed.")
	}
	for _, hit := range out.Hits {
		fmt.Fprintf(b, "\n%d. %.4f  %s  %dx%d", hit.Rank, hit.Score, hit.Path, hit.Width, hit.Height)
		if len(hit.Tags) > 0 {
			labels := make([]string, len(hit.Tags))
			for i, t := range hit.Tags {
				labels[i] = t.Label
			}
			fmt.Fprintf(b, "  [%s]", strings.Join(labels, ", "))
		}
		fmt.Fprintf(b, "  id=%s", hit.ID)
	}
	content := []mcpgo.Content{mcpgo.NewTextContent(b.String())}
	if include == nil || *include {
		n := 0
		for _, hit := range out.Hits {
			if n == MaxThumbnails {
				break
			}
			data, err := h.svc.HitThumbnail(ctx, hit, tools.ThumbnailMaxSide)
			if err != nil {
				h.log.Warn("no thumbnail", "path", hit.Path, "err", err)
				continue
			}
			content = append(content, mcpgo.NewImageContent(base64.StdEncoding.EncodeToString(data), "image/jpeg"))
			n++
		}
	}
	for _, hit := range out.Hits {
		desc := fmt.Sprintf("rank %d, score %.4f, %dx%d %s", hit.Rank, hit.Score, hit.Width, hit.Height, hit.Format)
		content = append(content, mcpgo.NewResourceLink(hit.URI, filepath.Base(hit.Path), desc, hit.MIMEType))
	}
	return &mcpgo.CallToolResult{Content: content, StructuredContent: out}
}

func (h *handlers) classify(ctx context.Context, _ mcpgo.CallToolRequest, in tools.ClassifyInput) (*mcpgo.CallToolResult, error) {
	out, err := h.svc.ClassifyImage(ctx, in)
	if err != nil {
		return nil, err
	}
	b := &strings.Builder{}
	b.WriteString("Zero-shot probabilities, best first:")
	for i, l := range out.Labels {
		fmt.Fprintf(b, "\n%d. %.4f  %s", i+1, l.Probability, l.Label)
	}
	return mcpgo.NewToolResultStructured(out, b.String()), nil
}

func (h *handlers) compare(ctx context.Context, _ mcpgo.CallToolRequest, in tools.CompareInput) (*mcpgo.CallToolResult, error) {
	out, err := h.svc.CompareImages(ctx, in)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("cosine %.4f, similarity (cosine+1)/2 %.4f", out.Cosine, out.Similarity)
	return mcpgo.NewToolResultStructured(out, text), nil
}

func (h *handlers) stats(ctx context.Context, _ mcpgo.CallToolRequest, _ tools.StatsInput) (*mcpgo.CallToolResult, error) {
	out, err := h.svc.IndexStats(ctx)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%d image(s) in %s, model %s (dim %d), %d tag(s); readable roots: %s",
		out.Images, out.Store, out.Model, out.Dim, len(out.Tags), strings.Join(out.Roots, ", "))
	return mcpgo.NewToolResultStructured(out, text), nil
}

func (h *handlers) ingest(ctx context.Context, _ mcpgo.CallToolRequest, in tools.IngestInput) (*mcpgo.CallToolResult, error) {
	sum, err := h.svc.IngestImages(ctx, in)
	if err != nil {
		return nil, err
	}
	if sum.Failed == nil {
		sum.Failed = []ingest.Failure{}
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "indexed %d, skipped %d (unchanged), failed %d in %.1fs", sum.Indexed, sum.Skipped, len(sum.Failed), sum.Seconds)
	for i, f := range sum.Failed {
		if i == 10 {
			fmt.Fprintf(b, "\n... and %d more", len(sum.Failed)-10)
			break
		}
		fmt.Fprintf(b, "\nfailed: %s: %s", f.Path, f.Reason)
	}
	return mcpgo.NewToolResultStructured(sum, b.String()), nil
}

// readImage serves resources/read for image://{id}.
func (h *handlers) readImage(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	id, ok := strings.CutPrefix(req.Params.URI, "image://")
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("resource %q: expected image://ID", req.Params.URI)
	}
	img, err := h.svc.ReadImage(ctx, id, tools.ResourceMaxSide)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.Params.URI, err)
	}
	return []mcpgo.ResourceContents{mcpgo.BlobResourceContents{
		URI:      req.Params.URI,
		MIMEType: img.MIMEType,
		Blob:     base64.StdEncoding.EncodeToString(img.Data),
	}}, nil
}
