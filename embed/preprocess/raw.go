package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
)

// Camera RAW files (Canon CR2, Nikon NEF, Sony ARW, Adobe DNG) are TIFF
// structures around the sensor data, and every camera also stores a JPEG
// preview of the photo as it developed it. cliprag does not demosaic: it
// reads the largest embedded JPEG preview (through the same JPEG decoder
// as .jpg files) and turns it by the RAW file's Orientation tag. Info.Preview
// says so, and the index records that the file was read that way.

// isCR2 checks for Canon's signature after the TIFF header.
func isCR2(b []byte) bool { return len(b) >= 12 && string(b[8:10]) == "CR" && b[10] == 2 }

// isDNG checks IFD0 for the DNGVersion tag.
func isDNG(b []byte) bool {
	_, ok := rawIFD0(b)[tagDNGVersion]
	return ok
}

// isNEF and isARW check IFD0's Make, and that the file has SubIFDs (where
// these cameras put the sensor data; a maker's plain TIFF has none).
func isNEF(b []byte) bool { return rawMake(b, "NIKON") }
func isARW(b []byte) bool { return rawMake(b, "SONY") }

func rawMake(b []byte, prefix string) bool {
	d := rawIFD0(b)
	if _, ok := d[tagSubIFDs]; !ok {
		return false
	}
	return strings.HasPrefix(strings.ToUpper(string(d[tagMake].bytes)), prefix)
}

// rawIFD0 returns IFD0, or nil.
func rawIFD0(b []byte) ifd {
	_, d, err := readIFD0(b)
	if err != nil {
		return nil
	}
	return d
}

var errNoPreview = errors.New("no embedded JPEG preview (cliprag reads camera RAW files through their preview)")

// rawPreview returns the largest baseline or progressive JPEG the file
// embeds, found through JPEGInterchangeFormat or JPEG-compressed strips in
// IFD0, the IFDs chained after it and their SubIFDs.
func rawPreview(data []byte) ([]byte, image.Config, error) {
	t, off, err := openTIFF(data)
	if err != nil {
		return nil, image.Config{}, err
	}
	var best []byte
	var bestCfg image.Config
	seen := map[uint32]bool{}
	queue := []uint32{off}
	for len(queue) > 0 && len(seen) < 64 {
		off, queue = queue[0], queue[1:]
		if off == 0 || seen[off] {
			continue
		}
		seen[off] = true
		d, next, err := t.readIFD(off)
		if err != nil {
			continue
		}
		queue = append(append(queue, next), d[tagSubIFDs].ints...)
		for _, jpg := range previewCandidates(data, d) {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
			if err != nil || cfg.Width*cfg.Height <= bestCfg.Width*bestCfg.Height {
				continue
			}
			best, bestCfg = jpg, cfg
		}
	}
	if best == nil {
		return nil, image.Config{}, errNoPreview
	}
	return best, bestCfg, nil
}

// previewCandidates returns the JPEG streams one IFD points at.
func previewCandidates(data []byte, d ifd) [][]byte {
	var out [][]byte
	slice := func(off, n uint32) {
		if n < 4 || int64(off)+int64(n) > int64(len(data)) {
			return
		}
		b := data[off : off+n]
		if b[0] == 0xff && b[1] == 0xd8 && !losslessJPEG(b) {
			out = append(out, b)
		}
	}
	if o, ok := d.get(tagJPEGOffset); ok {
		n, _ := d.get(tagJPEGLength)
		slice(o, n)
	}
	if c, _ := d.get(tagCompression); c == 6 || c == 7 {
		offs, counts := d[tagStripOffsets].ints, d[tagStripByteCounts].ints
		if len(offs) == 1 && len(counts) == 1 {
			slice(offs[0], counts[0])
		}
	}
	return out
}

// losslessJPEG reports whether a JPEG stream's frame is lossless (SOF3:
// raw sensor data, not a picture).
func losslessJPEG(b []byte) bool {
	for pos := 2; pos+4 <= len(b); {
		if b[pos] != 0xff {
			return false
		}
		m := b[pos+1]
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			return m == 0xc3 || m == 0xc7 || m == 0xcb || m == 0xcf
		}
		pos += 2 + (int(b[pos+2])<<8 | int(b[pos+3]))
	}
	return false
}

func rawConfig(data []byte) (image.Config, error) {
	_, cfg, err := rawPreview(data)
	return cfg, err
}

func decodeRAW(data []byte, _ image.Config, minSide int) (image.Image, error) {
	jpg, cfg, err := rawPreview(data)
	if err != nil {
		return nil, err
	}
	img, err := decodeJPEG(jpg, cfg.Width, cfg.Height, minSide)
	if err != nil {
		return nil, fmt.Errorf("embedded preview: %w", err)
	}
	return img, nil
}
