package main

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
)

// TestOCR runs rag-ingest -ocr with the real OCR models on embed/ocr's test
// images: on an index made without it, it reads the text of every stored
// image without embedding any, stores lines with boxes in the displayed
// image's pixels (EXIF orientation applied), and the index's text search
// finds the figures by their Chinese title and the screenshot by its
// English words. Without $CLIPRAG_OCR_MODELS (scripts/ocrmodels.sh) it is
// skipped, or fails under CI=true.
func TestOCR(t *testing.T) {
	models := os.Getenv("CLIPRAG_OCR_MODELS")
	if models == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CLIPRAG_OCR_MODELS is not set (eval \"export $(scripts/ocrmodels.sh)\")")
		}
		t.Skip("OCR models needed: set CLIPRAG_OCR_MODELS (eval \"export $(scripts/ocrmodels.sh)\")")
	}
	images := t.TempDir()
	files := []string{"figure-0.png", "figure-exif6.jpg", "line-1.png", "notext-0.jpg"}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("..", "..", "embed", "ocr", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(images, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store := filepath.Join(t.TempDir(), "index")
	common := []string{"-model", "tiny-shapes", "-store", store, "-quiet", "-json", "-threads", "2"}
	ocr := []string{"-ocr", "-ocr-model", models}

	code, r, out := ingestCLI(t, append(common, images)...)
	if code != exitOK || r.Indexed != len(files) || r.TextBy != "" || r.TextRead != 0 {
		t.Fatalf("without -ocr: exit %d, %+v\n%s", code, r, out)
	}
	code, r, out = ingestCLI(t, append(append(common, ocr...), images)...)
	if code != exitOK || r.Indexed != 0 || r.Updated != len(files) || r.TextRead != len(files) || !strings.HasPrefix(r.TextBy, "pp-ocrv4") || r.TextLines < 5 {
		t.Fatalf("-ocr on the index: exit %d, %+v\n%s", code, r, out)
	}
	// Nothing left to read; the summary line says so.
	code, _, out = ingestCLI(t, append(append([]string{"-model", "tiny-shapes", "-store", store, "-quiet", "-threads", "2"}, ocr...), images)...)
	if code != exitOK || !strings.Contains(out, "read text in 0 images (0 lines) with pp-ocrv4") {
		t.Fatalf("-ocr again: exit %d\n%s", code, out)
	}

	s, err := local.Open(store, &local.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	byName := func(hits []retriever.Hit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, filepath.Base(h.Payload.Path))
		}
		return out
	}
	hits, err := s.SearchText(ctx, "断裂体系", 4, retriever.Filter{})
	if err != nil || len(hits) < 2 || !strings.HasPrefix(byName(hits)[0], "figure-") || !strings.HasPrefix(byName(hits)[1], "figure-") {
		t.Fatalf("SearchText(断裂体系) = %v, %v; want the two figures first", byName(hits), err)
	}
	for _, h := range hits[:2] {
		// The title's box, in the displayed image's pixels (the EXIF
		// figure is stored rotated): about (222, 24)–(418, 52).
		var title *retriever.TextLine
		for i, l := range h.Payload.Text {
			if strings.Contains(l.Text, "断裂体系") {
				title = &h.Payload.Text[i]
			}
		}
		if title == nil {
			t.Fatalf("%s: no title line in %+v", h.Payload.Path, h.Payload.Text)
		}
		if tl := (image.Point{title.Box[0][0], title.Box[0][1]}); abs(tl.X-222) > 20 || abs(tl.Y-24) > 20 {
			t.Errorf("%s: title box %v, want its top-left near (222, 24)", h.Payload.Path, title.Box)
		}
	}
	hits, err = s.SearchText(ctx, "NETWORK ERROR", 4, retriever.Filter{})
	if err != nil || len(hits) == 0 || byName(hits)[0] != "line-1.png" {
		t.Errorf("SearchText(NETWORK ERROR) = %v, %v; want line-1.png first", byName(hits), err)
	}
	err = s.Files(ctx, func(e retriever.FileEntry) error {
		if e.TextBy != r.TextBy {
			t.Errorf("%s: text by %q, want %q", e.Path, e.TextBy, r.TextBy)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
