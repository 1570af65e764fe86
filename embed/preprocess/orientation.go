package preprocess

import (
	"bytes"
	"encoding/binary"
)

// Where each format keeps its EXIF block. The orientation found there is
// applied after decoding, as PIL's ImageOps.exif_transpose would (the
// reference pipeline itself ignores it, except for TIFF, which Pillow 9
// turns on load; see the package documentation).

// pngOrientation reads the eXIf chunk (before or after the image data).
func pngOrientation(b []byte) int {
	for pos := 8; pos+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		if n < 0 || pos+12+n > len(b) || typ == "IEND" {
			break
		}
		if typ == "eXIf" {
			return exifBlockOrientation(b[pos+8 : pos+8+n])
		}
		pos += 12 + n
	}
	return 1
}

// webpOrientation reads the EXIF chunk of an extended (VP8X) WebP.
func webpOrientation(b []byte) int {
	for pos := 12; pos+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[pos+4:]))
		if n < 0 || pos+8+n > len(b) {
			break
		}
		if string(b[pos:pos+4]) == "EXIF" {
			return exifBlockOrientation(b[pos+8 : pos+8+n])
		}
		pos += 8 + n + n&1
	}
	return 1
}

// exifBlockOrientation reads a TIFF-structured EXIF block, with or without
// the "Exif\0\0" prefix JPEG uses (some writers add it elsewhere too).
func exifBlockOrientation(b []byte) int {
	b = bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
	if o := exifOrientation(b); o != 0 {
		return o
	}
	return 1
}
