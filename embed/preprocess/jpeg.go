package preprocess

import (
	"image"
	"sync/atomic"
)

// jpegScale returns the numerator n (of n/8) libjpeg-turbo should decode a
// w×h JPEG at so that the shorter side stays ≥ minSide; 8 is full size.
// Only 1/8, 1/4 and 1/2 are used: they have SIMD IDCTs, and a reduction
// by less than half saves little time while costing accuracy.
func jpegScale(w, h, minSide int) int {
	if minSide <= 0 {
		return 8
	}
	short := min(w, h)
	for _, n := range []int{1, 2, 4} {
		if (short*n+7)/8 >= minSide {
			return n
		}
	}
	return 8
}

// jpegImage allocates the w×h image a libjpeg-turbo decode with comps
// output components (1 grey, 4 CMYK, else RGB written as RGBA) writes
// into, and returns it with its pixel slice and row stride.
func jpegImage(comps, w, h int) (image.Image, []uint8, int) {
	r := image.Rect(0, 0, w, h)
	switch comps {
	case 1:
		g := image.NewGray(r)
		return g, g.Pix, g.Stride
	case 4:
		c := image.NewCMYK(r)
		return c, c.Pix, c.Stride
	}
	m := image.NewRGBA(r)
	return m, m.Pix, m.Stride
}

// invertCMYK turns libjpeg's CMYK output into what Pillow reads CMYK JPEGs
// as, "CMYK;I" (Adobe's inverted convention), as image/jpeg does.
func invertCMYK(pix []uint8) {
	for i := range pix {
		pix[i] = 255 - pix[i]
	}
}

// systemJPEGOff makes decodeJPEG use image/jpeg even when libturbojpeg is
// installed (SetSystemJPEG).
var systemJPEGOff atomic.Bool

// SetSystemJPEG chooses whether this process decodes JPEGs with the
// system's libjpeg-turbo (libturbojpeg, loaded at run time when first
// needed; the default) or always with the pure-Go image/jpeg. The
// composition root calls it once, before decoding; benchmarks and tests
// use it to compare the two. The -tags libjpeg build, which links
// libjpeg-turbo, ignores it.
func SetSystemJPEG(on bool) { systemJPEGOff.Store(!on) }
