package tools

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// TestReadImageFormats checks that files clients cannot show (HEIC, AVIF,
// camera RAW) are indexed with their MIME type and come back from
// ReadImage and HitThumbnail as JPEGs the right way up.
func TestReadImageFormats(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{Roots: []string{f.Root}, AllowIngest: true})
	ctx := context.Background()
	src := filepath.Join("..", "embed", "preprocess", "testdata", "matrix")
	tests := []struct {
		file, mime string
		w, h       int // as displayed
	}{
		{"heic-irot1.heic", "image/heic", 90, 120},
		{"avif-irot1-imir1.avif", "image/avif", 90, 120},
		{"camera.arw", "image/x-sony-arw", 90, 120},
		{"tiff-rgb-far.tiff", "image/tiff", 72, 54},
	}
	dir := filepath.Join(f.Root, "formats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join(src, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tc.file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{"formats"}})
	if err != nil || sum.Indexed != len(tests) || len(sum.Failed) != 0 {
		t.Fatalf("ingest: %+v, %v", sum, err)
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img, err := s.ReadImage(ctx, f.id(t, s, filepath.Join(dir, tc.file)), ResourceMaxSide)
			if err != nil {
				t.Fatal(err)
			}
			if img.Hit.MIMEType != tc.mime || img.Hit.Width != tc.w || img.Hit.Height != tc.h {
				t.Errorf("hit %s %dx%d, want %s %dx%d", img.Hit.MIMEType, img.Hit.Width, img.Hit.Height, tc.mime, tc.w, tc.h)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(img.Data))
			if err != nil || format != "jpeg" || img.MIMEType != "image/jpeg" || cfg.Width != tc.w || cfg.Height != tc.h {
				t.Errorf("resource %s %s %dx%d, %v; want a %dx%d JPEG", img.MIMEType, format, cfg.Width, cfg.Height, err, tc.w, tc.h)
			}
			thumb, err := s.HitThumbnail(ctx, img.Hit, 32)
			if err != nil {
				t.Fatal(err)
			}
			tc2, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
			if err != nil || max(tc2.Width, tc2.Height) != 32 || (tc2.Width < tc2.Height) != (tc.w < tc.h) {
				t.Errorf("thumbnail %dx%d, %v; want long side 32, same orientation as %dx%d", tc2.Width, tc2.Height, err, tc.w, tc.h)
			}
		})
	}
}
