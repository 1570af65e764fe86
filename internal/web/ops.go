package web

import (
	"net/http"
	"path/filepath"
	"strings"

	"github.com/cliprag/cliprag/tools"
)

// detailView is one image shown large with what the index knows of it.
type detailView struct {
	tools.ImageInfo
	Name string
	Text string // the text read from the image, when the index holds it
}

// viewPage shows one indexed image large, with its metadata and actions.
func (s *Server) viewPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Image", Nav: "search"}
	info, err := s.svc.LookupImage(r.Context(), r.PathValue("id"))
	if err != nil {
		p.fail(err)
		if notFound(err) {
			p.Status = http.StatusNotFound
		}
		s.render(w, r, "view", p)
		return
	}
	p.Detail = &detailView{ImageInfo: info, Name: filepath.Base(info.Path), Text: hitText(info.Hit)}
	p.Title = p.Detail.Name
	s.render(w, r, "view", p)
}

// notFound reports whether err says that an image id is unknown.
func notFound(err error) bool {
	ie := inputError(err)
	return ie != nil && ie.Field == "id"
}

// imageInput returns the image a form names: a file uploaded in field
// fileField (it wins), else the indexed image whose id is in idField. ex
// is how the page shows it; it is nil when the form names no image.
func imageInput(r *http.Request, fileField, idField string) (ref tools.ImageRef, ex *exampleView, err error) {
	data, name, err := uploadedFile(r, fileField)
	if err != nil {
		return ref, nil, err
	}
	if data != nil {
		return tools.ImageRef{DataURI: dataURI(data)}, &exampleView{Name: name, Preview: previewURI(r.Context(), data)}, nil
	}
	id := strings.TrimPrefix(strings.TrimSpace(r.FormValue(idField)), "image://")
	if id == "" {
		return ref, nil, nil
	}
	return tools.ImageRef{ID: id}, &exampleView{ID: id}, nil
}

// name fills in the file name of an indexed example.
func (s *Server) name(r *http.Request, ex *exampleView) {
	if ex != nil && ex.ID != "" && ex.Name == "" {
		if info, err := s.svc.LookupImage(r.Context(), ex.ID); err == nil {
			ex.Name = filepath.Base(info.Path)
		}
	}
}

// classifyView is the classify form and its result.
type classifyView struct {
	ID       string // the indexed image, when classifying one
	Labels   string
	Template string
	Image    *exampleView
	Results  []tools.LabelProb
}

// classifyPage scores an image (uploaded, or indexed: ?id=) against typed
// labels, zero-shot.
func (s *Server) classifyPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Classify", Nav: "classify"}
	ref, ex, err := imageInput(r, "image", "id")
	v := &classifyView{Labels: r.FormValue("labels"), Template: strings.TrimSpace(r.FormValue("template")), Image: ex}
	if ref.ID != "" {
		v.ID = ref.ID
	}
	p.Classify = v
	s.name(r, ex)
	labels := tools.SplitList(v.Labels)
	switch {
	case err != nil:
		p.fail(err)
	case ex == nil && r.Method == http.MethodPost:
		p.fail(&tools.InputError{Field: "image", Msg: "choose, drop or paste an image to classify"})
	case ex != nil && (len(labels) > 0 || r.Method == http.MethodPost):
		out, err := s.svc.ClassifyImage(r.Context(), tools.ClassifyInput{Image: ref, Labels: labels, Template: v.Template})
		if err != nil {
			p.fail(err)
			break
		}
		v.Results = out.Labels
	}
	s.render(w, r, "classify", p)
}

// compareView is the compare form and its result.
type compareView struct {
	A, B   *exampleView
	AID    string
	BID    string
	Result *tools.CompareOutput
}

// comparePage compares two images, each uploaded or indexed (?a=ID&b=ID).
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Compare", Nav: "compare"}
	a, exA, errA := imageInput(r, "a_file", "a")
	b, exB, errB := imageInput(r, "b_file", "b")
	v := &compareView{A: exA, B: exB, AID: a.ID, BID: b.ID}
	p.Compare = v
	s.name(r, exA)
	s.name(r, exB)
	switch {
	case errA != nil:
		p.fail(errA)
	case errB != nil:
		p.fail(errB)
	case (exA == nil || exB == nil) && r.Method == http.MethodPost:
		p.fail(&tools.InputError{Field: "image", Msg: "give two images: choose, drop or paste one on each side, or type an image id"})
	case exA != nil && exB != nil:
		out, err := s.svc.CompareImages(r.Context(), tools.CompareInput{A: a, B: b})
		if err != nil {
			p.fail(err)
			break
		}
		v.Result = &out
	}
	s.render(w, r, "compare", p)
}

// statsView is what the index holds, and the thumbnail cache.
type statsView struct {
	tools.StatsOutput
	Tags         []tagCount
	ThumbEntries int
	ThumbBytes   int64
	ThumbLimit   int64
	ThumbDir     string
}

type tagCount struct {
	Tag   string
	Count int
}

// statsPage describes the index.
func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Index", Nav: "stats"}
	st, err := s.svc.IndexStats(r.Context())
	if err != nil {
		p.fail(err)
		s.render(w, r, "stats", p)
		return
	}
	v := &statsView{StatsOutput: st, ThumbLimit: s.opts.ThumbCacheBytes, ThumbDir: s.opts.ThumbDir}
	for _, t := range sortedTags(st.Tags) {
		v.Tags = append(v.Tags, tagCount{t, st.Tags[t]})
	}
	v.ThumbEntries, v.ThumbBytes = s.thumbs.stats()
	p.Stats = v
	s.render(w, r, "stats", p)
}
