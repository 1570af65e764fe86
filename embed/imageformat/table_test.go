package imageformat_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cliprag/cliprag/embed/imageformat"
	_ "github.com/cliprag/cliprag/embed/preprocess" // fills the table
)

// TestTable checks the table embed/preprocess registers: every format is
// complete, reachable by its name and each extension, and sniffed from a
// real file of its kind.
func TestTable(t *testing.T) {
	samples := map[string]string{ // format → a file in embed/preprocess/testdata
		"jpeg": "progressive.jpg", "png": "rgba.png", "gif": "trns.gif",
		"webp": "lossy.webp", "bmp": "rgb24.bmp", "tiff": "rgb.tiff",
	}
	fs := imageformat.Formats()
	if len(fs) < len(samples) {
		t.Fatalf("%d formats registered, want at least %d", len(fs), len(samples))
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			if len(f.Extensions) == 0 || f.MIMEType == "" {
				t.Fatalf("%+v: no extensions or MIME type", f)
			}
			if g, ok := imageformat.Lookup(f.Name); !ok || g.Name != f.Name {
				t.Errorf("Lookup(%q) = %q, %v", f.Name, g.Name, ok)
			}
			for _, e := range f.Extensions {
				if g, ok := imageformat.ByExtension(e); !ok || g.Name != f.Name {
					t.Errorf("ByExtension(%q) = %q, %v", e, g.Name, ok)
				}
			}
			file, ok := samples[f.Name]
			if !ok {
				return
			}
			data, err := os.ReadFile(filepath.Join("..", "preprocess", "testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if g, ok := imageformat.Sniff(data); !ok || g.Name != f.Name {
				t.Errorf("Sniff(%s) = %q, %v; want %q", file, g.Name, ok, f.Name)
			}
		})
	}
}
