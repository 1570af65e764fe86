package preprocess

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/cliprag/cliprag/embed/imageformat"
)

// The formats cliprag decodes, in sniffing order. Each decoder returns the
// image in the Go type that tells the Preprocessor how Pillow opens it
// (see raster.go); orientation is applied by Decode.
func init() {
	imageformat.Register(imageformat.Format{
		Name: "jpeg", Extensions: []string{".jpg", ".jpeg"}, MIMEType: "image/jpeg",
		Magic:        []string{"\xff\xd8\xff"},
		DecodeConfig: configOf(jpeg.DecodeConfig),
		Decode: func(data []byte, cfg image.Config, minSide int) (image.Image, error) {
			return decodeJPEG(data, cfg.Width, cfg.Height, minSide)
		},
		Orientation: jpegOrientation,
		Displayable: true,
	})
	imageformat.Register(imageformat.Format{
		Name: "png", Extensions: []string{".png"}, MIMEType: "image/png",
		Magic:        []string{"\x89PNG\r\n\x1a\n"},
		DecodeConfig: configOf(png.DecodeConfig),
		Decode:       fixed(png.Decode, fixPNG),
		Orientation:  pngOrientation,
		Displayable:  true,
	})
	imageformat.Register(imageformat.Format{
		Name: "gif", Extensions: []string{".gif"}, MIMEType: "image/gif",
		Magic:        []string{"GIF87a", "GIF89a"},
		DecodeConfig: configOf(gif.DecodeConfig),
		Decode:       fixed(gif.Decode, fixGIF),
		Displayable:  true,
	})
	imageformat.Register(imageformat.Format{
		Name: "webp", Extensions: []string{".webp"}, MIMEType: "image/webp",
		Magic:        []string{"RIFF????WEBP"},
		DecodeConfig: configOf(webp.DecodeConfig),
		Decode:       fixed(webp.Decode, fixWebP),
		Orientation:  webpOrientation,
		Displayable:  true,
	})
	imageformat.Register(imageformat.Format{
		Name: "heic", Extensions: []string{".heic", ".heif", ".hif"}, MIMEType: "image/heic",
		Magic:        []string{"????ftyp"},
		Match:        isHEIC,
		DecodeConfig: heifConfig,
		Decode:       decodeHEIF(decodeHEIC, true),
	})
	imageformat.Register(imageformat.Format{
		Name: "avif", Extensions: []string{".avif"}, MIMEType: "image/avif",
		Magic:        []string{"????ftyp"},
		Match:        isAVIF,
		DecodeConfig: heifConfig,
		Decode:       decodeHEIF(decodeAVIF, false),
	})
	imageformat.Register(imageformat.Format{
		Name: "bmp", Extensions: []string{".bmp"}, MIMEType: "image/bmp",
		Magic:        []string{"BM"},
		DecodeConfig: configOf(bmp.DecodeConfig),
		Decode:       fixed(bmp.Decode, fixBMP),
	})
	// Camera RAW files are TIFFs: they register before TIFF, which would
	// claim them.
	for _, raw := range []struct {
		name, ext, mime string
		match           func([]byte) bool
	}{
		{"cr2", ".cr2", "image/x-canon-cr2", isCR2},
		{"nef", ".nef", "image/x-nikon-nef", isNEF},
		{"arw", ".arw", "image/x-sony-arw", isARW},
		{"dng", ".dng", "image/x-adobe-dng", isDNG},
	} {
		imageformat.Register(imageformat.Format{
			Name: raw.name, Extensions: []string{raw.ext}, MIMEType: raw.mime,
			Magic:        []string{"II*\x00", "MM\x00*"},
			Match:        raw.match,
			DecodeConfig: rawConfig,
			Decode:       decodeRAW,
			Orientation:  tiffOrientation,
			Preview:      true,
		})
	}
	imageformat.Register(imageformat.Format{
		Name: "tiff", Extensions: []string{".tif", ".tiff"}, MIMEType: "image/tiff",
		Magic:        []string{"II*\x00", "MM\x00*"},
		DecodeConfig: tiffConfig,
		Decode:       decodeTIFF,
		Orientation:  tiffOrientation,
	})
}

// configOf adapts a reader-based DecodeConfig to the table's signature.
func configOf(f func(r io.Reader) (image.Config, error)) func([]byte) (image.Config, error) {
	return func(data []byte) (image.Config, error) { return f(bytes.NewReader(data)) }
}

// fixed adapts a reader-based decoder, then lets fix (when not nil) give
// the result Pillow's interpretation of the file.
func fixed(dec func(r io.Reader) (image.Image, error), fix func(data []byte, img image.Image) image.Image) func([]byte, image.Config, int) (image.Image, error) {
	return func(data []byte, _ image.Config, _ int) (image.Image, error) {
		img, err := dec(bytes.NewReader(data))
		if err != nil || fix == nil {
			return img, err
		}
		return fix(data, img), nil
	}
}

// fixWebP converts a lossy WebP's YCbCr planes to RGB as libwebp does.
func fixWebP(_ []byte, img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		return webpToRGB(m, nil, 0)
	case *image.NYCbCrA:
		return webpToRGB(&m.YCbCr, m.A, m.AStride)
	}
	return img
}
