package preprocess

import "image"

// webpToRGB converts a lossy WebP's YCbCr 4:2:0 planes to RGB the way
// libwebp (and so Pillow) does: "fancy" chroma upsampling and VP8's
// limited-range BT.601 conversion. image.YCbCr's own conversion is JFIF
// full-range, which would shift every colour. With alpha != nil the result
// is an *image.NRGBA carrying it, else an opaque *image.RGBA.
func webpToRGB(m *image.YCbCr, alpha []uint8, alphaStride int) image.Image {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	var pix []uint8
	var out image.Image
	if alpha != nil {
		n := image.NewNRGBA(image.Rect(0, 0, w, h))
		pix, out = n.Pix, n
	} else {
		n := image.NewRGBA(image.Rect(0, 0, w, h))
		pix, out = n.Pix, n
	}
	cw := (w + 1) / 2
	ch := (h + 1) / 2
	chromaRow := func(plane []uint8, r int) []uint8 {
		off := r * m.CStride
		return plane[off : off+cw]
	}
	us := make([]uint8, w)
	vs := make([]uint8, w)
	for y := 0; y < h; y++ {
		var top, cur int
		bottom := false
		switch {
		case y == 0:
			top, cur = 0, 0
		case y%2 == 1:
			k := (y + 1) / 2
			if k >= ch {
				top, cur = ch-1, ch-1
			} else {
				top, cur = k-1, k
			}
		default:
			top, cur, bottom = y/2-1, y/2, true
		}
		upsampleRow(us, chromaRow(m.Cb, top), chromaRow(m.Cb, cur), bottom, w)
		upsampleRow(vs, chromaRow(m.Cr, top), chromaRow(m.Cr, cur), bottom, w)
		yrow := m.Y[y*m.YStride : y*m.YStride+w]
		o := pix[y*w*4 : (y+1)*w*4]
		for x := 0; x < w; x++ {
			yy, u, v := int(yrow[x]), int(us[x]), int(vs[x])
			o[4*x] = vp8Clip8(multHi(yy, 19077) + multHi(v, 26149) - 14234)
			o[4*x+1] = vp8Clip8(multHi(yy, 19077) - multHi(u, 6419) - multHi(v, 13320) + 8708)
			o[4*x+2] = vp8Clip8(multHi(yy, 19077) + multHi(u, 33050) - 17685)
			if alpha != nil {
				o[4*x+3] = alpha[y*alphaStride+x]
			} else {
				o[4*x+3] = 0xff
			}
		}
	}
	return out
}

func multHi(v, c int) int { return (v * c) >> 8 }

func vp8Clip8(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// upsampleRow is one channel of libwebp's UpsampleRgbLinePair for one
// output row: the "top" row of the pair (nearer the chroma row t) or the
// "bottom" row (nearer c).
func upsampleRow(dst, t, c []uint8, bottom bool, w int) {
	near, far := t, c
	if bottom {
		near, far = c, t
	}
	dst[0] = uint8((3*int(near[0]) + int(far[0]) + 2) >> 2)
	last := (w - 1) >> 1
	for x := 1; x <= last; x++ {
		tl, tt, l, uv := int(t[x-1]), int(t[x]), int(c[x-1]), int(c[x])
		avg := tl + tt + l + uv + 8
		d12 := (avg + 2*(tt+l)) >> 3
		d03 := (avg + 2*(tl+uv)) >> 3
		if !bottom {
			dst[2*x-1] = uint8((d12 + tl) >> 1)
			dst[2*x] = uint8((d03 + tt) >> 1)
		} else {
			dst[2*x-1] = uint8((d03 + l) >> 1)
			dst[2*x] = uint8((d12 + uv) >> 1)
		}
	}
	if w&1 == 0 {
		dst[w-1] = uint8((3*int(near[last]) + int(far[last]) + 2) >> 2)
	}
}
