package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cliprag/cliprag/tools"
)

// Protocol versions whose results differ.
const (
	// versionStructured is the first version with resource_link content and
	// structuredContent (2025-06-18).
	versionStructured = mcpgo.ProtocolVersion20250618
	// versionAssumed is what a client that never said is taken to speak, as
	// the streamable HTTP transport prescribes.
	versionAssumed = mcpgo.ProtocolVersion20250326
)

// protocolVersion returns the protocol version of the client a request
// came from: the request's own (2026-07-28 and later), the one negotiated
// at initialize, the MCP-Protocol-Version header, or versionAssumed.
func (h *handlers) protocolVersion(ctx context.Context) string {
	if v := server.RequestProtocolVersion(ctx); v != "" {
		return v
	}
	if v := h.sessions.version(sessionID(ctx)); v != "" {
		return v
	}
	if v, _ := ctx.Value(headerVersionKey{}).(string); v != "" {
		return v
	}
	return versionAssumed
}

// headerVersionKey carries an HTTP request's MCP-Protocol-Version header.
type headerVersionKey struct{}

// modern reports whether v has resource_link and structuredContent.
func modern(v string) bool { return v >= versionStructured }

// result builds a tool result for the client's protocol version: the text
// summary, then images, then (2025-06-18 and later) resource links; the
// structured content always, and for older clients, which do not know
// structuredContent, also serialized as JSON text, as the specification asks.
func (h *handlers) result(ctx context.Context, structured any, summary string, images []mcpgo.Content, links []mcpgo.ResourceLink) *mcpgo.CallToolResult {
	content := []mcpgo.Content{mcpgo.NewTextContent(summary)}
	content = append(content, images...)
	if modern(h.protocolVersion(ctx)) {
		for _, l := range links {
			content = append(content, l)
		}
	} else if b, err := json.Marshal(structured); err == nil {
		content = append(content, mcpgo.NewTextContent(string(b)))
	}
	return &mcpgo.CallToolResult{Content: content, StructuredContent: structured}
}

// thumbnailPlan is how many thumbnails a result gets and how large.
func (h *handlers) thumbnailPlan(a hitArgs) (n, size int) {
	n, size = h.opts.Thumbnails, h.opts.ThumbnailSize
	if a.Thumbnails != nil {
		n = *a.Thumbnails
	}
	if a.IncludeImages != nil && !*a.IncludeImages {
		n = 0
	}
	if a.ThumbnailSize != 0 {
		size = a.ThumbnailSize
	}
	return n, size
}

// hitsResult builds the result of a search: a text line per hit, the
// planned thumbnails, an image:// link per hit and the structured hits.
func (h *handlers) hitsResult(ctx context.Context, c *toolCall, out tools.SearchOutput, head string, a hitArgs) *mcpgo.CallToolResult {
	if out.Hits == nil {
		out.Hits = []tools.Hit{}
	}
	b := &strings.Builder{}
	b.WriteString(head)
	if len(out.Hits) == 0 {
		b.WriteString(". The index may be empty or the filters too narrow; index_stats shows what is indexed.")
	}
	for _, hit := range out.Hits {
		fmt.Fprintf(b, "\n%d. %.4f  %s  %dx%d", hit.Rank, hit.Score, tools.Printable(hit.Path), hit.Width, hit.Height)
		if len(hit.Tags) > 0 {
			labels := make([]string, len(hit.Tags))
			for i, t := range hit.Tags {
				labels[i] = t.Label
			}
			fmt.Fprintf(b, "  [%s]", strings.Join(labels, ", "))
		}
		fmt.Fprintf(b, "  %s", hit.URI)
		if hit.Text != "" {
			fmt.Fprintf(b, "\n   text: %s", tools.Printable(strings.ReplaceAll(hit.Text, "\n", " / ")))
		}
	}
	n, size := h.thumbnailPlan(a)
	var images []mcpgo.Content
	for _, hit := range out.Hits {
		if len(images) == n {
			break
		}
		data, err := c.svc.HitThumbnail(ctx, hit, size)
		if err != nil {
			h.log.WarnContext(ctx, "no thumbnail", "path", hit.Path, "err", err)
			continue
		}
		images = append(images, mcpgo.NewImageContent(base64.StdEncoding.EncodeToString(data), "image/jpeg"))
	}
	links := make([]mcpgo.ResourceLink, 0, len(out.Hits))
	for _, hit := range out.Hits {
		desc := fmt.Sprintf("rank %d, score %.4f, %dx%d %s", hit.Rank, hit.Score, hit.Width, hit.Height, hit.Format)
		links = append(links, mcpgo.NewResourceLink(hit.URI, tools.Printable(filepath.Base(hit.Path)), desc,
			tools.ServedMIMEType(hit.Format, hit.Width, hit.Height, tools.ResourceMaxSide)))
	}
	return h.result(ctx, out, b.String(), images, links)
}
