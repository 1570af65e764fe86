package preprocess

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"

	"golang.org/x/image/tiff"
	"golang.org/x/image/tiff/lzw"
)

// TIFF-structured files: plain TIFFs, and the camera RAW files built on
// TIFF (raw.go). golang.org/x/image/tiff decodes most TIFFs; this file adds
// what it lacks and Pillow reads: CMYK ("separated") and grey+alpha ("LA")
// images, in strips, 8 bits a sample. It also gives 1-bit images Pillow's
// mode "1" (resized with nearest neighbour).

// TIFF tags used here and in raw.go.
const (
	tagNewSubfileType  = 0x00fe
	tagImageWidth      = 0x0100
	tagImageLength     = 0x0101
	tagBitsPerSample   = 0x0102
	tagCompression     = 0x0103
	tagPhotometric     = 0x0106
	tagMake            = 0x010f
	tagStripOffsets    = 0x0111
	tagOrientation     = 0x0112
	tagSamplesPerPixel = 0x0115
	tagRowsPerStrip    = 0x0116
	tagStripByteCounts = 0x0117
	tagPlanarConfig    = 0x011c
	tagPredictor       = 0x013d
	tagSubIFDs         = 0x014a
	tagExtraSamples    = 0x0152
	tagJPEGOffset      = 0x0201 // JPEGInterchangeFormat
	tagJPEGLength      = 0x0202
	tagDNGVersion      = 0xc612
)

// tiffFile is a TIFF's bytes and byte order.
type tiffFile struct {
	data []byte
	bo   binary.ByteOrder
}

// ifd is one image file directory: each tag's values as unsigned integers
// (BYTE, SHORT and LONG entries) or bytes (ASCII, UNDEFINED).
type ifd map[uint16]tiffValue

type tiffValue struct {
	ints  []uint32
	bytes []byte
}

// get returns the first value of tag.
func (d ifd) get(tag uint16) (uint32, bool) {
	v, ok := d[tag]
	if !ok || len(v.ints) == 0 {
		return 0, false
	}
	return v.ints[0], true
}

// openTIFF checks the header and returns the file and IFD0's offset.
func openTIFF(data []byte) (tiffFile, uint32, error) {
	if len(data) < 8 {
		return tiffFile{}, 0, errors.New("truncated TIFF header")
	}
	t := tiffFile{data: data}
	switch string(data[:4]) {
	case "II*\x00":
		t.bo = binary.LittleEndian
	case "MM\x00*":
		t.bo = binary.BigEndian
	default:
		return t, 0, errors.New("not a TIFF")
	}
	return t, t.bo.Uint32(data[4:]), nil
}

// readIFD0 opens data and parses its first IFD.
func readIFD0(data []byte) (tiffFile, ifd, error) {
	t, off, err := openTIFF(data)
	if err != nil {
		return t, nil, err
	}
	d, _, err := t.readIFD(off)
	return t, d, err
}

// readIFD parses the IFD at off and returns it and the next IFD's offset.
func (t tiffFile) readIFD(off uint32) (ifd, uint32, error) {
	d := t.data
	if off < 8 || int64(off)+2 > int64(len(d)) {
		return nil, 0, fmt.Errorf("IFD offset %d outside the file", off)
	}
	n := int(t.bo.Uint16(d[off:]))
	end := int64(off) + 2 + 12*int64(n)
	if end+4 > int64(len(d)) {
		return nil, 0, errors.New("truncated IFD")
	}
	out := make(ifd, n)
	for i := 0; i < n; i++ {
		e := d[int(off)+2+12*i:]
		tag, typ, count := t.bo.Uint16(e), t.bo.Uint16(e[2:]), t.bo.Uint32(e[4:])
		size := map[uint16]int64{1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 13: 4}[typ]
		if size == 0 || count > 1<<20 {
			continue
		}
		raw := e[8:12]
		if total := size * int64(count); total > 4 {
			at := int64(t.bo.Uint32(e[8:]))
			if at+total > int64(len(d)) {
				continue
			}
			raw = d[at : at+total]
		}
		var v tiffValue
		switch typ {
		case 1, 2, 7:
			v.bytes = raw[:count]
			for _, b := range v.bytes {
				v.ints = append(v.ints, uint32(b))
			}
		case 3:
			for j := uint32(0); j < count; j++ {
				v.ints = append(v.ints, uint32(t.bo.Uint16(raw[2*j:])))
			}
		case 4, 13:
			for j := uint32(0); j < count; j++ {
				v.ints = append(v.ints, t.bo.Uint32(raw[4*j:]))
			}
		}
		out[tag] = v
	}
	return out, t.bo.Uint32(d[end:]), nil
}

// tiffOrientation is IFD0's Orientation; Pillow 9 applies it when it loads
// a TIFF, so applying it keeps to the reference.
func tiffOrientation(data []byte) int {
	if o := exifOrientation(data); o != 0 {
		return o
	}
	return 1
}

func tiffConfig(data []byte) (image.Config, error) {
	cfg, err := tiff.DecodeConfig(bytes.NewReader(data))
	if err == nil || !errors.As(err, new(tiff.UnsupportedError)) {
		return cfg, err
	}
	_, d, err2 := readIFD0(data)
	if err2 != nil {
		return cfg, err
	}
	w, _ := d.get(tagImageWidth)
	h, _ := d.get(tagImageLength)
	return image.Config{ColorModel: color.CMYKModel, Width: int(w), Height: int(h)}, nil
}

func decodeTIFF(data []byte, _ image.Config, _ int) (image.Image, error) {
	img, err := tiff.Decode(bytes.NewReader(data))
	if err != nil {
		if !errors.As(err, new(tiff.UnsupportedError)) {
			return nil, err
		}
		if img, err2 := decodeTIFFStrips(data); err2 == nil {
			return img, nil
		} else if !errors.Is(err2, errNotHandled) {
			return nil, err2
		}
		return nil, err
	}
	if g, ok := img.(*image.Gray); ok && tiffBits(data) == 1 {
		return bilevel(g), nil
	}
	return img, nil
}

// bilevel turns a black-and-white grey image into Pillow's mode "1".
func bilevel(g *image.Gray) *image.Paletted {
	p := image.NewPaletted(g.Rect, color.Palette{color.Gray{0}, color.Gray{255}})
	for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
		for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
			if g.GrayAt(x, y).Y >= 128 {
				p.SetColorIndex(x, y, 1)
			}
		}
	}
	return p
}

// tiffBits returns IFD0's BitsPerSample (its first value; 1 when the tag
// is absent, as the TIFF specification says), or 0 for a broken file.
func tiffBits(data []byte) uint32 {
	_, d, err := readIFD0(data)
	if err != nil {
		return 0
	}
	if b, ok := d.get(tagBitsPerSample); ok {
		return b
	}
	return 1
}

var errNotHandled = errors.New("not a CMYK or grey+alpha TIFF")

// decodeTIFFStrips decodes an 8-bit, chunky, striped CMYK or grey+alpha
// TIFF (uncompressed, LZW, Deflate or PackBits, with or without the
// horizontal predictor) as *image.CMYK or *image.NRGBA.
func decodeTIFFStrips(data []byte) (image.Image, error) {
	t, d, err := readIFD0(data)
	if err != nil {
		return nil, err
	}
	photometric, _ := d.get(tagPhotometric)
	spp, _ := d.get(tagSamplesPerPixel)
	cmyk := photometric == 5 && spp == 4
	la := photometric <= 1 && spp == 2
	planar, ok := d.get(tagPlanarConfig)
	if !cmyk && !la || ok && planar != 1 {
		return nil, errNotHandled
	}
	for _, b := range d[tagBitsPerSample].ints {
		if b != 8 {
			return nil, errNotHandled
		}
	}
	w, _ := d.get(tagImageWidth)
	h, _ := d.get(tagImageLength)
	rows, ok := d.get(tagRowsPerStrip)
	if !ok || rows == 0 || rows > h {
		rows = h
	}
	ch := int(spp)
	pix, err := readStrips(t, d, int(w), int(h), int(rows), ch)
	if err != nil {
		return nil, err
	}
	rect := image.Rect(0, 0, int(w), int(h))
	if cmyk {
		return &image.CMYK{Pix: pix, Stride: 4 * int(w), Rect: rect}, nil
	}
	m := image.NewNRGBA(rect)
	for i := 0; i < int(w)*int(h); i++ {
		l := pix[2*i]
		if photometric == 0 {
			l = 255 - l
		}
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = l, l, l, pix[2*i+1]
	}
	return m, nil
}

// readStrips decompresses every strip into one w×h×ch buffer.
func readStrips(t tiffFile, d ifd, w, h, rows, ch int) ([]byte, error) {
	offs, counts := d[tagStripOffsets].ints, d[tagStripByteCounts].ints
	comp, _ := d.get(tagCompression)
	pred, _ := d.get(tagPredictor)
	rowBytes := w * ch
	pix := make([]byte, rowBytes*h)
	if len(offs) != len(counts) || len(offs) < (h+rows-1)/rows {
		return nil, errors.New("tiff: strip offsets and counts do not cover the image")
	}
	for i := range (h + rows - 1) / rows {
		o, n := int64(offs[i]), int64(counts[i])
		if o+n > int64(len(t.data)) {
			return nil, fmt.Errorf("tiff: strip %d: %w", i, io.ErrUnexpectedEOF)
		}
		dst := pix[i*rows*rowBytes : min(h, (i+1)*rows)*rowBytes]
		if err := inflateStrip(dst, t.data[o:o+n], comp); err != nil {
			return nil, fmt.Errorf("tiff: strip %d: %w", i, err)
		}
		if pred == 2 {
			for r := 0; r < len(dst)/rowBytes; r++ {
				row := dst[r*rowBytes : (r+1)*rowBytes]
				for x := ch; x < len(row); x++ {
					row[x] += row[x-ch]
				}
			}
		}
	}
	return pix, nil
}

// inflateStrip fills dst with one strip's decompressed bytes.
func inflateStrip(dst, src []byte, comp uint32) error {
	var r io.Reader
	switch comp {
	case 1:
		r = bytes.NewReader(src)
	case 5:
		r = lzw.NewReader(bytes.NewReader(src), lzw.MSB, 8)
	case 8, 32946:
		z, err := zlib.NewReader(bytes.NewReader(src))
		if err != nil {
			return err
		}
		r = z
	case 32773:
		return unpackBits(dst, src)
	default:
		return tiff.UnsupportedError(fmt.Sprintf("compression value %d", comp))
	}
	_, err := io.ReadFull(r, dst)
	return err
}

// unpackBits is TIFF's PackBits decompression.
func unpackBits(dst, src []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			if i+n+1 > len(src) || o+n+1 > len(dst) {
				return io.ErrUnexpectedEOF
			}
			o += copy(dst[o:], src[i:i+n+1])
			i += n + 1
		case n != -128:
			if i >= len(src) || o-n+1 > len(dst) {
				return io.ErrUnexpectedEOF
			}
			for k := 0; k < 1-n; k++ {
				dst[o+k] = src[i]
			}
			o += 1 - n
			i++
		}
	}
	if o < len(dst) {
		return io.ErrUnexpectedEOF
	}
	return nil
}
