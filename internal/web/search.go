package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/imageformat"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/tools"
)

// searchForm is the search box and its filters, as the request gave them.
type searchForm struct {
	Q        string // text query
	Similar  string // id of an indexed example image
	Tags     string // comma-separated, any of them
	Folder   string
	MinScore string
	K        int
	// Mode is how a text query is ranked: "" (the service's default:
	// hybrid when the index holds text read from its images, else clip),
	// "clip", "text" or "hybrid" (tools.Modes).
	Mode string
}

// Open reports whether a filter is set, so the page shows them.
func (f searchForm) Open() bool {
	return f.Tags != "" || f.Folder != "" || f.MinScore != "" || f.Mode != ""
}

// parseSearchForm reads the search box and filters from the URL query or
// a posted form.
func parseSearchForm(r *http.Request) (searchForm, error) {
	f := searchForm{
		Q:        strings.TrimSpace(r.FormValue("q")),
		Similar:  strings.TrimSpace(r.FormValue("similar")),
		Tags:     strings.TrimSpace(r.FormValue("tags")),
		Folder:   strings.TrimSpace(r.FormValue("folder")),
		MinScore: strings.TrimSpace(r.FormValue("min_score")),
		Mode:     strings.TrimSpace(r.FormValue("mode")),
		K:        DefaultTopK,
	}
	if k := strings.TrimSpace(r.FormValue("k")); k != "" {
		n, err := strconv.Atoi(k)
		if err != nil {
			return f, &tools.InputError{Field: "top_k", Msg: fmt.Sprintf("%q is not a whole number", k)}
		}
		f.K = n
	}
	if f.Mode != "" && !slices.Contains(tools.Modes, f.Mode) {
		return f, &tools.InputError{Field: "mode", Msg: fmt.Sprintf("%q is not one of %s", f.Mode, strings.Join(tools.Modes, ", "))}
	}
	return f, nil
}

// filters turns the form's filters into the service's.
func (f searchForm) filters() (tools.Filters, error) {
	out := tools.Filters{Tags: tools.SplitList(f.Tags), Folder: f.Folder}
	if f.MinScore != "" {
		v, err := strconv.ParseFloat(f.MinScore, 64)
		if err != nil {
			return out, &tools.InputError{Field: "min_score", Msg: fmt.Sprintf("%q is not a number; give one between -1 and 1, such as 0.25", f.MinScore)}
		}
		out.MinScore = v
	}
	return out, nil
}

// resultsView is one list of results.
type resultsView struct {
	Kind    string // "text", "similar" (an indexed example), "upload"
	Query   string // the text, or the example's description
	Example *exampleView
	Hits    []hitView
	Took    string
}

// hitView is one result.
type hitView struct {
	tools.Hit
	Name string
	// Text is the text read from the image, when the index holds it (the
	// lines matching the query first); see hitText.
	Text string
}

// exampleView is an image the page shows beside a result: an indexed
// one (ID), or an uploaded one (Preview, a data URI of a thumbnail).
type exampleView struct {
	ID      string
	Name    string
	Preview template.URL
}

// hitText is the text read from a hit's image at ingest (rag-ingest
// --ocr), its lines one per line, those matching the query first, as the
// service cuts it (tools.MaxHitTextChars); the grid shows the first
// lines, the detail page all of it.
func hitText(h tools.Hit) string { return h.Text }

func hitViews(hits []tools.Hit) []hitView {
	out := make([]hitView, len(hits))
	for i, h := range hits {
		out[i] = hitView{Hit: h, Name: filepath.Base(h.Path), Text: hitText(h)}
	}
	return out
}

// searchPage is the main page: the search box and, when the request
// asks for one, a list of results (a text search, images like an indexed
// one, or images like an uploaded one).
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Search", Nav: "search"}
	upload, name, err := uploadedFile(r, "image")
	if err == nil {
		p.Form, err = parseSearchForm(r)
	}
	if err != nil {
		p.fail(err)
		s.render(w, r, "search", p)
		return
	}
	if r.Method == http.MethodPost && upload == nil && p.Form.Similar == "" && p.Form.Q == "" {
		p.fail(&tools.InputError{Field: "image", Msg: "choose, drop or paste an image to search by example"})
		s.render(w, r, "search", p)
		return
	}
	if upload == nil && p.Form.Similar == "" && p.Form.Q == "" {
		s.render(w, r, "search", p)
		return
	}
	p.Results, err = s.search(r, p.Form, upload, name)
	if err != nil {
		p.fail(err)
	} else if p.Results.Query != "" {
		p.Title = p.Results.Query
	}
	s.render(w, r, "search", p)
}

// search runs the search the form asks for.
func (s *Server) search(r *http.Request, f searchForm, upload []byte, name string) (*resultsView, error) {
	ctx := r.Context()
	filters, err := f.filters()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	view := &resultsView{}
	var out tools.SearchOutput
	switch {
	case upload != nil:
		view.Kind = "upload"
		view.Example = &exampleView{Name: name, Preview: previewURI(ctx, upload)}
		out, err = s.svc.FindSimilar(ctx, tools.SimilarInput{Image: tools.ImageRef{DataURI: dataURI(upload)}, TopK: f.K, Filters: filters})
		if err == nil {
			out.Query = "images like " + name
		}
	case f.Q != "":
		view.Kind = "text"
		out, err = s.svc.SearchImages(ctx, tools.SearchInput{Query: f.Q, TopK: f.K, Filters: filters, Mode: f.Mode})
	default:
		view.Kind = "similar"
		view.Example = &exampleView{ID: f.Similar}
		if info, err := s.svc.LookupImage(ctx, f.Similar); err == nil {
			view.Example.Name = filepath.Base(info.Path)
		}
		out, err = s.svc.FindSimilar(ctx, tools.SimilarInput{Image: tools.ImageRef{ID: f.Similar}, TopK: f.K, Filters: filters})
		if err == nil && view.Example.Name != "" {
			out.Query = "images like " + view.Example.Name
		}
	}
	if err != nil {
		return nil, err
	}
	view.Query = out.Query
	view.Hits = hitViews(out.Hits)
	view.Took = strconv.FormatInt(time.Since(start).Milliseconds(), 10) + " ms"
	return view, nil
}

// uploadedFile returns the file posted in field, and its name; nil when
// the request posted none.
func uploadedFile(r *http.Request, field string) ([]byte, string, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return nil, "", nil
	}
	if r.MultipartForm == nil {
		// The guard has read the body into memory and bounded it; keep
		// the files in memory as well.
		if err := r.ParseMultipartForm(r.ContentLength + 1<<20); err != nil {
			return nil, "", &tools.InputError{Field: field, Msg: "the upload could not be read: " + err.Error()}
		}
	}
	fh := r.MultipartForm.File[field]
	if len(fh) == 0 || fh[0].Size == 0 {
		return nil, "", nil
	}
	f, err := fh[0].Open()
	if err != nil {
		return nil, "", &tools.InputError{Field: field, Msg: "the upload could not be read: " + err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, "", &tools.InputError{Field: field, Msg: "the upload could not be read: " + err.Error()}
	}
	name := filepath.Base(fh[0].Filename)
	if name == "" || name == "." || name == "/" {
		name = "pasted image"
	}
	return data, name, nil
}

// dataURI wraps an uploaded image for the service, with its type sniffed
// from its bytes.
func dataURI(data []byte) string {
	mt := "application/octet-stream"
	if f, ok := imageformat.Sniff(data); ok {
		mt = f.MIMEType
	}
	return "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// previewURI is a small JPEG of an uploaded image as a data URI, to show
// it beside the results; empty when it cannot be decoded (the operation
// then says why).
func previewURI(ctx context.Context, data []byte) template.URL {
	opt := preprocess.DecodeOptions{MinSide: ThumbSide}
	release, err := preprocess.Reserve(ctx, data, opt)
	if err != nil {
		return ""
	}
	defer release()
	img, _, err := preprocess.Decode("upload", data, opt)
	if err != nil {
		return ""
	}
	jpg, err := tools.ThumbnailImage(img, ThumbSide)
	if err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpg))
}

// inputError returns err's *tools.InputError, or nil.
func inputError(err error) *tools.InputError {
	var ie *tools.InputError
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}
