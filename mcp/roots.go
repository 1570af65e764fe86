package mcp

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cliprag/cliprag/tools"
)

// service returns the service a call runs on: the server's own when it was
// given roots (--root), or the client offers none; otherwise a view scoped
// to the client's MCP roots, read with roots/list on the session's first
// call and again after notifications/roots/list_changed. A client whose
// roots cannot be read, or are all unusable, gets the server's own roots
// (the folders already in the index).
func (h *handlers) service(ctx context.Context) *tools.Service {
	if len(h.svc.Options().Roots) > 0 || server.IsModernRequest(ctx) {
		return h.svc
	}
	id := sessionID(ctx)
	offers, read, view := h.sessions.rootsView(id)
	if !offers {
		return h.svc
	}
	if read {
		if view != nil {
			return view
		}
		return h.svc
	}
	view = h.readRoots(ctx)
	h.sessions.setRootsView(id, view)
	if view == nil {
		return h.svc
	}
	return view
}

// readRoots asks the client for its roots and returns the service scoped
// to the usable ones, or nil.
func (h *handlers) readRoots(ctx context.Context) *tools.Service {
	rctx, cancel := context.WithTimeout(ctx, h.opts.RootsTimeout)
	defer cancel()
	res, err := h.srv.RequestRoots(rctx, mcpgo.ListRootsRequest{})
	if err != nil {
		h.log.WarnContext(ctx, "could not read the client's roots; using the index's folders", "err", err)
		return nil
	}
	var dirs []string
	for _, r := range res.Roots {
		p, ok := rootPath(r.URI)
		if !ok {
			h.log.WarnContext(ctx, "client root ignored: not a local file:// URI", "uri", r.URI)
			continue
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			h.log.WarnContext(ctx, "client root ignored: not a folder here", "uri", r.URI)
			continue
		}
		dirs = append(dirs, p)
	}
	if len(dirs) == 0 {
		if len(res.Roots) == 0 {
			h.log.InfoContext(ctx, "the client offers no roots; using the index's folders")
		}
		return nil
	}
	sort.Strings(dirs)
	view, err := h.svc.WithRoots(dirs)
	if err != nil {
		h.log.WarnContext(ctx, "client roots unusable; using the index's folders", "err", err)
		return nil
	}
	h.log.InfoContext(ctx, "using the client's roots", "roots", strings.Join(dirs, ","))
	return view
}

// rootPath turns a file:// root URI into a local path.
func rootPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return "", false
	}
	p := filepath.FromSlash(u.Path)
	if !filepath.IsAbs(p) {
		return "", false
	}
	return filepath.Clean(p), true
}
