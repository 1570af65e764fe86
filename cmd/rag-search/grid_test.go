package main

import (
	"path/filepath"
	"testing"

	"github.com/cliprag/cliprag/tools/sheet"
)

// TestSheetTilesFormats checks contact-sheet tiles decode for every kind of
// file the index holds, the right way up, and render into a sheet.
func TestSheetTilesFormats(t *testing.T) {
	src := filepath.Join("..", "..", "embed", "preprocess", "testdata", "matrix")
	tests := []struct {
		file string
		w, h int
	}{
		{"heic-irot1-imir1.heic", 90, 120},
		{"avif-irot3.avif", 90, 120},
		{"camera.nef", 90, 120},
		{"camera.cr2", 120, 90},
		{"orient6.webp", 90, 120},
	}
	var tiles []sheet.Tile
	for _, tc := range tests {
		img := thumbnail(filepath.Join(src, tc.file), 64)
		if img == nil {
			t.Fatalf("%s: no tile image", tc.file)
		}
		// Tiles are scaled to fit the thumbnail size, keeping the image's
		// orientation and aspect.
		if b := img.Bounds(); b.Dx()*tc.h != b.Dy()*tc.w || max(b.Dx(), b.Dy()) != 64 {
			t.Errorf("%s: tile %dx%d, want %dx%d scaled to fit 64", tc.file, b.Dx(), b.Dy(), tc.w, tc.h)
		}
		tiles = append(tiles, sheet.Tile{Image: img, Name: tc.file})
	}
	if _, err := sheet.Render(tiles, sheet.Options{Thumb: 64}); err != nil {
		t.Fatal(err)
	}
}
