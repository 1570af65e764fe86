package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/tiff"

	"github.com/cliprag/cliprag/embed/imageformat"
)

// Errors a decode can wrap; test them with errors.Is.
var (
	// ErrUnsupported: the data is not in a supported image format.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrCorrupt: the data is empty, truncated or otherwise not decodable.
	ErrCorrupt = errors.New("corrupt or truncated image")
	// ErrTooLarge: the declared dimensions exceed MaxPixels (a
	// decompression bomb) or the file is larger than any image within the
	// limit could be.
	ErrTooLarge = errors.New("image too large")
)

// DecodeOptions tunes Decode.
type DecodeOptions struct {
	// MinSide lets the decoder return a reduced image whose shorter side is
	// at least MinSide pixels (JPEG DCT-domain scaling, when the build has
	// it); 0 means full resolution.
	MinSide int
	// MaxPixels is the largest declared width×height accepted; 0 means
	// DefaultMaxPixels.
	MaxPixels int64
}

func (o DecodeOptions) maxPixels() int64 {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return DefaultMaxPixels
}

// MaxFileBytes bounds the size of a file worth reading: no supported
// encoding of an image within MaxPixels needs more than 8 bytes a pixel.
func (o DecodeOptions) MaxFileBytes() int64 {
	return 8*o.maxPixels() + 1<<20
}

// Info describes a decoded image as stored: the dimensions after
// orientation, at full resolution (even when Decode returned a reduced
// image), and the format's name in the format table ("jpeg", "png", "heic",
// "nef", ...).
type Info struct {
	Width, Height int
	Format        string
	// Preview reports that the pixels are the file's embedded JPEG preview
	// (camera RAW files), not its own image data; Width and Height are the
	// preview's.
	Preview bool
}

// DecodeFile reads and decodes the image file at path; see Decode.
func DecodeFile(path string, opt DecodeOptions) (image.Image, Info, error) {
	data, err := readFileLimited(path, opt.MaxFileBytes())
	if err != nil {
		return nil, Info{}, &DecodeError{Name: path, Err: err}
	}
	return Decode(path, data, opt)
}

// DecodeError is a failed decode: the file (or name) and why. Callers that
// name the file themselves (a list of failures, an argument error) report
// Reason(err) instead of the whole message, so the name is not said twice.
type DecodeError struct {
	Name string
	Err  error
}

func (e *DecodeError) Error() string { return "decode " + e.Name + ": " + e.Err.Error() }

func (e *DecodeError) Unwrap() error { return e.Err }

// Reason returns why a decode failed without the file's name: the Err of
// a *DecodeError in err's chain, else err itself.
func Reason(err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Err
	}
	return err
}

// Decode decodes data, an image in one of the formats of the format table
// (embed/imageformat, registered in formats.go): JPEG (baseline,
// progressive, greyscale, CMYK/YCCK), PNG (1–16 bit, grey, palette, alpha),
// GIF (first frame), WebP, HEIC, AVIF, BMP, TIFF (including CMYK and
// grey+alpha) and camera RAW through its embedded JPEG preview
// (Info.Preview). name is used in error messages only.
//
// The declared dimensions are checked against MaxPixels with the format's
// DecodeConfig before any pixel buffer is allocated. Decoder panics are
// recovered and returned as ErrCorrupt. The orientation is applied (EXIF
// Orientation, or HEIF's irot/imir; a deliberate deviation from the PIL
// reference, which ignores it; see the package documentation). The image is returned in the Go type that tells Preprocessor how
// Pillow would treat it (for example a PNG without an alpha channel but
// with a tRNS colour comes back opaque, since Pillow's convert('RGB') ignores
// that transparency).
func Decode(name string, data []byte, opt DecodeOptions) (img image.Image, info Info, err error) {
	if len(data) == 0 {
		return nil, info, decodeErr(name, ErrCorrupt, "empty file")
	}
	f, ok := imageformat.Sniff(data)
	if !ok {
		return nil, info, decodeErr(name, ErrUnsupported, describeUnknown(data))
	}
	info.Format, info.Preview = f.Name, f.Preview
	defer func() {
		if r := recover(); r != nil {
			img = nil
			err = decodeErr(name, ErrCorrupt, fmt.Sprintf("decoder panic: %v", r))
		}
	}()
	cfg, err := f.DecodeConfig(data)
	if err != nil {
		return nil, info, classify(name, err)
	}
	if err := checkSize(cfg, opt.maxPixels()); err != nil {
		return nil, info, &DecodeError{Name: name, Err: err}
	}
	orient := 1
	if f.Orientation != nil {
		orient = f.Orientation(data)
	}
	info.Width, info.Height = cfg.Width, cfg.Height
	if orient >= 5 && orient <= 8 {
		info.Width, info.Height = cfg.Height, cfg.Width
	}
	img, err = f.Decode(data, cfg, opt.MinSide)
	if err != nil {
		return nil, info, classify(name, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, info, decodeErr(name, ErrCorrupt, "decoded image is empty")
	}
	if orient > 1 {
		img = applyOrientation(img, orient)
	}
	return img, info, nil
}

// decodeErr is the error of a decode that failed for reason.
func decodeErr(name string, kind error, reason any) error {
	return &DecodeError{Name: name, Err: fmt.Errorf("%w: %v", kind, reason)}
}

// checkSize refuses declared dimensions that are not positive (ErrCorrupt)
// or whose pixel count is above limit (ErrTooLarge).
func checkSize(cfg image.Config, limit int64) error {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%w: invalid dimensions %dx%d", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > limit {
		return fmt.Errorf("%w: %dx%d is %.1f megapixels, more than the %.1f-megapixel limit",
			ErrTooLarge, cfg.Width, cfg.Height, float64(px)/1e6, float64(limit)/1e6)
	}
	return nil
}

// classify wraps a decoder error with ErrUnsupported or ErrCorrupt.
func classify(name string, err error) error {
	kind := ErrCorrupt
	msg := err.Error()
	switch {
	case errors.As(err, new(jpeg.UnsupportedError)), errors.As(err, new(png.UnsupportedError)),
		errors.As(err, new(tiff.UnsupportedError)),
		strings.Contains(msg, "unsupported"), strings.Contains(msg, "not implemented"):
		kind = ErrUnsupported
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &DecodeError{Name: name, Err: fmt.Errorf("%w: truncated data: %w", ErrCorrupt, err)}
	}
	return &DecodeError{Name: name, Err: fmt.Errorf("%w: %w", kind, err)}
}

// describeUnknown names what unsupported data looks like.
func describeUnknown(b []byte) string {
	if len(b) >= 12 && string(b[4:8]) == "ftyp" {
		return "ISO media file (" + strings.TrimSpace(string(b[8:12])) + "), not a HEIC or AVIF image"
	}
	if bytes.HasPrefix(b, []byte("%PDF")) {
		return "PDF documents are not images"
	}
	n := min(len(b), 512)
	text := true
	for _, c := range b[:n] {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			text = false
			break
		}
	}
	if text {
		return "looks like a text file, not an image"
	}
	return fmt.Sprintf("unrecognised data (starts % x)", b[:min(len(b), 8)])
}

// fixPNG makes a decoded PNG carry Pillow's interpretation: a tRNS colour
// key on a grey or RGB image is ignored by convert('RGB'), and a 1-bit
// grey image is mode "1" (resized with nearest neighbour).
func fixPNG(data []byte, img image.Image) image.Image {
	if len(data) < 33 || string(data[12:16]) != "IHDR" {
		return img
	}
	depth, ctype := data[24], data[25]
	if ctype == 0 || ctype == 2 { // no alpha channel
		switch m := img.(type) {
		case *image.NRGBA:
			if ctype == 0 {
				g := image.NewGray(m.Rect)
				for i := range g.Pix {
					g.Pix[i] = m.Pix[4*i]
				}
				img = g
			} else {
				for i := 3; i < len(m.Pix); i += 4 {
					m.Pix[i] = 0xff
				}
			}
		case *image.NRGBA64:
			if ctype == 0 {
				g := image.NewGray16(m.Rect)
				for i := 0; i < len(g.Pix); i += 2 {
					g.Pix[i], g.Pix[i+1] = m.Pix[4*i], m.Pix[4*i+1]
				}
				img = g
			} else {
				for i := 6; i < len(m.Pix); i += 8 {
					m.Pix[i], m.Pix[i+1] = 0xff, 0xff
				}
			}
		}
	}
	if ctype == 0 && depth == 1 {
		if g, ok := img.(*image.Gray); ok {
			p := image.NewPaletted(g.Rect, color.Palette{color.Gray{0}, color.Gray{255}})
			for i, v := range g.Pix {
				if v >= 128 {
					p.Pix[i] = 1
				}
			}
			img = p
		}
	}
	return img
}

// fixGIF restores the colour of the transparent palette index (image/gif
// zeroes it; Pillow's convert('RGB') keeps it) and returns identity-grey
// palettes as *image.Gray, since Pillow opens those GIFs in mode "L".
func fixGIF(data []byte, img image.Image) image.Image {
	m, ok := img.(*image.Paletted)
	if !ok {
		return img
	}
	table := gifColorTable(data)
	if table == nil {
		return img
	}
	grey := true
	for i := 0; i < len(table)/3; i++ {
		if !(table[3*i] == byte(i) && table[3*i+1] == byte(i) && table[3*i+2] == byte(i)) {
			grey = false
			break
		}
	}
	if grey {
		g := &image.Gray{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		return g
	}
	pal := make(color.Palette, len(m.Palette))
	for i := range pal {
		if 3*i+2 < len(table) {
			pal[i] = color.RGBA{table[3*i], table[3*i+1], table[3*i+2], 0xff}
		} else {
			pal[i] = m.Palette[i]
		}
	}
	m.Palette = pal
	return m
}

// gifColorTable returns the colour table the first frame uses (its local
// table, else the global one), or nil.
func gifColorTable(b []byte) []byte {
	if len(b) < 13 {
		return nil
	}
	var global []byte
	pos := 13
	if flags := b[10]; flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(b) {
			return nil
		}
		global = b[pos : pos+n]
		pos += n
	}
	for pos < len(b) {
		switch b[pos] {
		case 0x21: // extension: label, then sub-blocks
			pos += 2
			for pos < len(b) && b[pos] != 0 {
				pos += int(b[pos]) + 1
			}
			pos++
		case 0x2c: // image descriptor
			if pos+10 > len(b) {
				return global
			}
			if flags := b[pos+9]; flags&0x80 != 0 {
				n := 3 << ((flags & 7) + 1)
				if pos+10+n > len(b) {
					return global
				}
				return b[pos+10 : pos+10+n]
			}
			return global
		default:
			return global
		}
	}
	return global
}

// jpegOrientation returns the EXIF orientation (1–8) stored in the JPEG's
// APP1 Exif segment, or 1 when there is none or it is invalid.
func jpegOrientation(b []byte) int {
	pos := 2
	for pos+4 <= len(b) {
		if b[pos] != 0xff {
			return 1
		}
		marker := b[pos+1]
		if marker == 0xff { // fill byte
			pos++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			pos += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[pos+2:]))
		if n < 2 || pos+2+n > len(b) {
			return 1
		}
		seg := b[pos+4 : pos+2+n]
		if marker == 0xe1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		pos += 2 + n
	}
	return 1
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF
// block; 0 when absent or invalid.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + int64(i)*12
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ := bo.Uint16(t[e+2:])
		var v int
		switch typ {
		case 3: // SHORT
			v = int(bo.Uint16(t[e+8:]))
		case 4: // LONG
			v = int(bo.Uint32(t[e+8:]))
		default:
			return 0
		}
		if v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// fixBMP gives a palette BMP Pillow's mode: one whose palette is the grey
// ramp (entry i is (i, i, i) for every colour the header declares) opens as
// "L" (resized bicubic), except a two-colour black-and-white one, which is
// "1" (nearest neighbour, as a palette image already is).
func fixBMP(data []byte, img image.Image) image.Image {
	m, ok := img.(*image.Paletted)
	if !ok || len(data) < 54 {
		return img
	}
	bpp := int(binary.LittleEndian.Uint16(data[28:]))
	colours := int(binary.LittleEndian.Uint32(data[46:]))
	if colours == 0 && bpp <= 8 {
		colours = 1 << bpp
	}
	if colours == 2 || colours <= 0 || colours > len(m.Palette) {
		return img
	}
	for i := 0; i < colours; i++ {
		r, g, b, _ := m.Palette[i].RGBA()
		if r>>8 != uint32(i) || g>>8 != uint32(i) || b>>8 != uint32(i) {
			return img
		}
	}
	return &image.Gray{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}
