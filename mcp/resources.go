package mcp

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools"
)

// imageID returns the id of an image://ID URI.
func imageID(uri string) (string, bool) {
	id, ok := strings.CutPrefix(uri, "image://")
	if !ok || id == "" || strings.ContainsAny(id, "/?# ") {
		return "", false
	}
	return id, true
}

// notFoundSuffix is added to the URI of a read whose id is not in the
// index, so that it matches no resource template and mcp-go answers with
// the specification's resource-not-found error (-32002) rather than an
// internal error; the suffix ends up in the error message.
const notFoundSuffix = " (no indexed image has this id; ids come from search hits)"

// checkResource is a before-read hook: it sends reads of unknown image
// ids to mcp-go's not-found answer.
func (h *handlers) checkResource(ctx context.Context, _ any, req *mcpgo.ReadResourceRequest) {
	id, ok := imageID(req.Params.URI)
	if !ok {
		if strings.HasPrefix(req.Params.URI, "image://") {
			req.Params.URI += notFoundSuffix
		}
		return
	}
	recs, err := h.svc.Store().Get(ctx, []string{id})
	if err == nil && len(recs) == 0 {
		req.Params.URI += notFoundSuffix
	}
}

// readImage serves resources/read for image://{id}.
func (h *handlers) readImage(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	id, ok := imageID(req.Params.URI)
	if !ok {
		return nil, fmt.Errorf("resource %q: expected image://ID", req.Params.URI)
	}
	img, err := h.service(ctx).ReadImage(ctx, id, tools.ResourceMaxSide)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.Params.URI, err)
	}
	return []mcpgo.ResourceContents{mcpgo.BlobResourceContents{
		URI:      req.Params.URI,
		MIMEType: img.MIMEType,
		Blob:     base64.StdEncoding.EncodeToString(img.Data),
	}}, nil
}

// Completion limits: ids are completed by a scan of the index, done only
// while it is small enough to be instant.
const (
	maxCompletionScan   = 20000
	maxCompletionValues = 100 // the specification's cap
)

// CompleteResourceArgument completes the id of image://{id} from the
// indexed ids that start with what was typed (case-insensitive).
func (h *handlers) CompleteResourceArgument(ctx context.Context, uri string, arg mcpgo.CompleteArgument, _ mcpgo.CompleteContext) (*mcpgo.Completion, error) {
	out := &mcpgo.Completion{Values: []string{}}
	if uri != ImageURITemplate || arg.Name != "id" {
		return out, nil
	}
	store := h.svc.Store()
	n, err := store.Count(ctx)
	if err != nil || n > maxCompletionScan {
		return out, nil
	}
	prefix := strings.ToLower(strings.TrimPrefix(arg.Value, "image://"))
	var ids []string
	err = store.Files(ctx, func(f retriever.FileEntry) error {
		if strings.HasPrefix(strings.ToLower(f.ID), prefix) {
			ids = append(ids, f.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("complete image ids from %s: %w", store, err)
	}
	sort.Strings(ids)
	out.Total = len(ids)
	if len(ids) > maxCompletionValues {
		ids, out.HasMore = ids[:maxCompletionValues], true
	}
	out.Values = append(out.Values, ids...)
	return out, nil
}
