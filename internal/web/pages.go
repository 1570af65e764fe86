package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/tools"
)

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the current section: search, classify, compare, stats
	Version string
	Index   tools.StatsOutput
	TagList []string // the index's tags, most common first
	Error   string
	Status  int
	Form    searchForm // the search box, on every page

	Results  *resultsView
	Detail   *detailView
	Classify *classifyView
	Compare  *compareView
	Stats    *statsView
}

// loadPages parses the layout with each page template.
func loadPages(funcs template.FuncMap) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "parts.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[strings.TrimSuffix(name, ".html")] = t
	}
	return pages, nil
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": s.assetURL,
		"score": func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) },
		"pct":   func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + " %" },
		"base":  filepath.Base,
		"bytes": humanBytes,
		"when":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
		"tagURL": func(tag string) string {
			return "/?" + url.Values{"tags": {tag}}.Encode()
		},
		"thumb": func(id string, side int) string { return "/thumb/" + url.PathEscape(id) + "?s=" + strconv.Itoa(side) },
		"topK":  func() []int { return TopKChoices },
	}
}

// render writes a page; a template failure is logged and answered 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	ctx := r.Context()
	p.Version = s.opts.Version
	if idx, err := s.indexSummary(ctx); err == nil {
		p.Index = idx
		p.TagList = sortedTags(idx.Tags)
	} else if p.Error == "" {
		p.Error, p.Status = err.Error(), status(err)
	}
	if p.Form.K == 0 {
		p.Form.K = DefaultTopK
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "500 Internal Server Error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status != 0 {
		w.WriteHeader(p.Status)
	}
	_, _ = w.Write(buf.Bytes())
}

// fail records err on the page, as a sentence the person can act on.
func (p *page) fail(err error) {
	p.Error, p.Status = message(err), status(err)
}

// fieldLabels are the page's names for the service's arguments.
var fieldLabels = map[string]string{
	"query": "Search", "top_k": "Results", "min_score": "Minimum score", "tags": "Tags",
	"all_tags": "Tags", "folder": "Folder", "labels": "Labels", "template": "Template",
	"image": "Image", "a": "Image A", "b": "Image B", "mode": "Mode",
}

// message is an error as the page shows it: an input error names the
// control it is about.
func message(err error) string {
	ie := inputError(err)
	if ie == nil {
		return err.Error()
	}
	f := ie.Field
	if i := strings.IndexAny(f, ".["); i >= 0 {
		f = f[:i]
	}
	if l, ok := fieldLabels[f]; ok {
		return l + ": " + ie.Msg
	}
	return ie.Error()
}

// sortedTags returns the tags most common first, then by name.
func sortedTags(tags map[string]int) []string {
	out := make([]string, 0, len(tags))
	for t := range tags {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if tags[out[i]] != tags[out[j]] {
			return tags[out[i]] > tags[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// humanBytes formats a byte count: "812 B", "14.2 KB", "3.1 MB".
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + " KB"
	case n < 1000*1000*1000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + " GB"
}
