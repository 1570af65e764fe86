package main

import (
	"context"
	"fmt"
	"image"
	"path/filepath"

	"golang.org/x/image/draw"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/internal/safefs"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/sheet"
)

// queryTile is the first cell of a contact sheet: the query text, or the
// query image.
type queryTile struct {
	text string // search
	path string // similar: the image file, when known
	name string // similar: the argument as given
}

// writeGrid renders the query and hits as a contact sheet to --grid.
func writeGrid(e *env, f *filterFlags, q queryTile, hits []tools.Hit, model string) error {
	thumb := *f.thumb
	tiles := make([]sheet.Tile, 0, len(hits)+1)
	first := sheet.Tile{Label: "query", Highlight: true}
	if q.text != "" {
		first.Text = q.text
		first.Name = model
	} else {
		first.Name = q.name
		if q.path != "" {
			first.Name = filepath.Base(q.path)
			first.Image = thumbnail(q.path, thumb)
		}
		if first.Image == nil {
			first.Text = q.name
		}
	}
	tiles = append(tiles, first)
	for _, h := range hits {
		tiles = append(tiles, sheet.Tile{
			Image: thumbnail(h.Path, thumb),
			Label: fmt.Sprintf("#%d  %.4f", h.Rank, h.Score),
			Name:  filepath.Base(h.Path),
		})
	}
	img, err := sheet.Render(tiles, sheet.Options{Thumb: thumb})
	if err != nil {
		return fmt.Errorf("contact sheet: %w", err)
	}
	if err := sheet.WritePNG(*f.grid, img); err != nil {
		return fmt.Errorf("contact sheet: %w", err)
	}
	if !*f.quiet {
		b := img.Bounds()
		fmt.Fprintf(e.stderr, "wrote %s (%d×%d, the query and %s)\n", tools.Printable(*f.grid), b.Dx(), b.Dy(), plural(len(hits), "result"))
	}
	return nil
}

// thumbnail decodes an image file for the sheet (EXIF orientation applied,
// JPEGs decoded at reduced size when the build allows) and scales it to
// fit side×side, so the sheet holds small tiles, not every hit's pixels;
// the decode reserves its memory in the decoder's budget. It returns nil
// when the file cannot be read: the sheet then shows an empty box.
func thumbnail(path string, side int) image.Image {
	f, fi, err := safefs.Open(path)
	if err != nil {
		return nil
	}
	data, _, err := safefs.Read(f, fi, preprocess.DefaultMaxPixels*8)
	f.Close()
	if err != nil {
		return nil
	}
	opt := preprocess.DecodeOptions{MinSide: side}
	release, err := preprocess.Reserve(context.Background(), data, opt)
	if err != nil {
		return nil
	}
	defer release()
	img, _, err := preprocess.Decode(path, data, opt)
	if err != nil {
		return nil
	}
	b := img.Bounds()
	if b.Dx() <= side && b.Dy() <= side {
		return img
	}
	w, h := side, max(1, b.Dy()*side/b.Dx())
	if b.Dy() > b.Dx() {
		w, h = max(1, b.Dx()*side/b.Dy()), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
