package tools

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"golang.org/x/image/draw"

	"github.com/cliprag/cliprag/embed/imageformat"
	"github.com/cliprag/cliprag/embed/preprocess"
)

// ThumbnailImage returns img as a JPEG whose long side is at most maxSide
// pixels, resized with Catmull-Rom; transparent areas become white.
func ThumbnailImage(img image.Image, maxSide int) ([]byte, error) {
	if maxSide <= 0 {
		return nil, fmt.Errorf("thumbnail: max side %d must be positive", maxSide)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("thumbnail: empty image")
	}
	tw, th := fit(w, h, maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	if tw == w && th == h {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: DefaultThumbnailJPEG}); err != nil {
		return nil, fmt.Errorf("thumbnail: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// fit scales w×h down so the long side is at most max, keeping aspect ratio.
func fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		nh := (h*max + w/2) / w
		return max, clampMin1(nh)
	}
	nw := (w*max + h/2) / h
	return clampMin1(nw), max
}

func clampMin1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// HitThumbnail returns a JPEG thumbnail (long side ≤ maxSide) of a hit's
// file, which must lie inside the allowed roots.
func (s *Service) HitThumbnail(ctx context.Context, h Hit, maxSide int) ([]byte, error) {
	data, p, err := s.readFile(ctx, h.Path)
	if err != nil {
		return nil, err
	}
	opt := preprocess.DecodeOptions{MinSide: maxSide}
	release, err := preprocess.Reserve(ctx, data, opt)
	if err != nil {
		return nil, fmt.Errorf("thumbnail %s: %w", p, err)
	}
	defer release()
	img, _, err := preprocess.Decode(p, data, opt)
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	return ThumbnailImage(img, maxSide)
}

// ImageData is an indexed image's bytes for a client to display.
type ImageData struct {
	Hit      Hit    // what the index knows about it (Rank and Score zero)
	Data     []byte // the file itself, or a JPEG when it had to be downscaled or converted
	MIMEType string
}

// ServedMIMEType is the MIME type ReadImage returns for an image of this
// format and size (as displayed): the file's own type when it is sent as it
// is, image/jpeg when it is downscaled or converted. Resource links
// advertise it.
func ServedMIMEType(format string, width, height, maxSide int) string {
	if servedAsIs(format, width, height, maxSide) {
		return MIMEType(format)
	}
	return "image/jpeg"
}

// servedAsIs reports whether ReadImage sends a file unchanged: a format
// every client displays, no larger than maxSide.
func servedAsIs(format string, width, height, maxSide int) bool {
	f, ok := imageformat.Lookup(format)
	return ok && f.Displayable && width <= maxSide && height <= maxSide
}

// ReadImage returns the indexed image with this id, downscaled to a long
// side of at most maxSide (re-encoded as JPEG) when larger, and converted
// to JPEG when its format is not one clients display
// (imageformat.Format.Displayable: BMP, TIFF, ...):
// ServedMIMEType says which. The file must lie inside the allowed roots.
func (s *Service) ReadImage(ctx context.Context, id string, maxSide int) (ImageData, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	r, err := s.record(ctx, id)
	if err != nil {
		return ImageData{}, err
	}
	hit := hitFrom(0, retrieverHit(r.ID, r.Payload))
	raw, p, err := s.readFile(ctx, r.Payload.Path)
	if err != nil {
		return ImageData{}, err
	}
	release, err := preprocess.Reserve(ctx, raw, preprocess.DecodeOptions{})
	if err != nil {
		return ImageData{}, fmt.Errorf("decode %s: %w", p, err)
	}
	defer release()
	img, info, err := preprocess.Decode(p, raw, preprocess.DecodeOptions{})
	if err != nil {
		return ImageData{}, fmt.Errorf("decode %s: %w", p, err)
	}
	b := img.Bounds()
	if servedAsIs(info.Format, b.Dx(), b.Dy(), maxSide) {
		return ImageData{Hit: hit, Data: raw, MIMEType: MIMEType(info.Format)}, nil
	}
	data, err := ThumbnailImage(img, maxSide)
	if err != nil {
		return ImageData{}, fmt.Errorf("%s: %w", p, err)
	}
	return ImageData{Hit: hit, Data: data, MIMEType: "image/jpeg"}, nil
}
