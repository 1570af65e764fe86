package tools

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/tools/toolstest"
)

// fixture is toolstest.Mixed: one image per class of the tiny model's
// domain, alternating PNG and JPEG, every third in a sub-folder, indexed.
type fixture struct{ *toolstest.Fixture }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{toolstest.Mixed(t)}
}

// service returns a Service over the fixture.
func (f *fixture) service(t *testing.T, opts Options) *Service {
	t.Helper()
	s, err := New(toolstest.Model(t), f.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// class returns "red circle" for a fixture path.
func class(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return strings.ReplaceAll(base, "-", " ")
}

// id returns the index id of a fixture file.
func (f *fixture) id(t *testing.T, s *Service, path string) string {
	t.Helper()
	out, err := s.SearchImages(context.Background(), SearchInput{Query: "a shape", TopK: MaxTopK})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Hits {
		if h.Path == path {
			return h.ID
		}
	}
	t.Fatalf("%s is not indexed", path)
	return ""
}
