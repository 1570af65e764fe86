//go:build !libjpeg || !cgo

package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
)

// systemJPEG returns the loaded libturbojpeg, or nil when it is switched
// off or absent.
func systemJPEG() *turboJPEG {
	if systemJPEGOff.Load() {
		return nil
	}
	return loadTurbo()
}

// ScaledJPEG reports whether JPEGs are decoded at a reduced DCT scale:
// in this (default) build, when libturbojpeg was found at run time.
// image/jpeg always decodes at full resolution.
func ScaledJPEG() bool { return systemJPEG() != nil }

// JPEGDecoder names the JPEG decoder this process uses.
func JPEGDecoder() string {
	if t := systemJPEG(); t != nil {
		return "libjpeg-turbo (" + t.name + ", loaded at run time)"
	}
	return "image/jpeg"
}

// decodeJPEG decodes a JPEG with libturbojpeg at reduced scale when the
// system has it, else with image/jpeg at full size (minSide ignored).
func decodeJPEG(data []byte, w, h, minSide int) (image.Image, error) {
	if t := systemJPEG(); t != nil {
		return t.decode(data, w, h, minSide)
	}
	return jpeg.Decode(bytes.NewReader(data))
}
