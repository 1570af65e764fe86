//go:build !libjpeg || !cgo

package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
)

// ScaledJPEG reports whether this build decodes JPEGs at a reduced DCT
// scale (libjpeg-turbo through cgo, build tag "libjpeg"). The default build
// uses the pure-Go image/jpeg, which always decodes at full resolution.
const ScaledJPEG = false

// decodeJPEG decodes a JPEG with image/jpeg; minSide is ignored.
func decodeJPEG(data []byte, _, _, _ int) (image.Image, error) {
	return jpeg.Decode(bytes.NewReader(data))
}
