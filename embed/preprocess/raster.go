package preprocess

import (
	"image"
	"image/color"
)

// pilMode is the Pillow image mode an image would have after Image.open,
// which decides how Pillow resizes it and converts it to RGB.
type pilMode int

const (
	modeL    pilMode = iota // 8-bit grey: bicubic, grey replicated
	modeRGB                 // 8-bit RGB: bicubic
	modeRGBA                // RGBA: premultiplied for bicubic, alpha dropped
	modeCMYK                // CMYK: bicubic, then Pillow's cmyk2rgb
	modeP                   // palette: nearest neighbour (Pillow forces it), expanded
	modeI                   // 32-bit int (16-bit grey PNG): bicubic in float64, clipped to 0..255
)

func (m pilMode) channels() int {
	switch m {
	case modeL, modeI:
		return 1
	case modeRGB, modeP:
		return 3
	default:
		return 4
	}
}

// raster is an image as Pillow holds it: interleaved 8-bit channels (or
// int32 for modeI) plus the mode.
type raster struct {
	w, h int
	mode pilMode
	pix  []uint8 // w*h*channels, modes other than modeI
	ipix []int32 // w*h, modeI
}

// toRaster converts img into the Pillow-equivalent raster, reusing ws's
// buffers. The image's bounds are honoured (sub-images work).
func toRaster(ws *workspace, img image.Image) raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	r := raster{w: w, h: h}
	switch m := img.(type) {
	case *image.Gray:
		r.mode = modeL
		ws.src = copyRows(ws.src, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h)
		r.pix = ws.src
	case *image.Gray16:
		r = gray16Raster(ws, m)
	case *image.YCbCr:
		r.mode = modeRGB
		ws.src = growBytes(ws.src, w*h*3)
		ycbcrToRGB(ws.src, m)
		r.pix = ws.src
	case *image.CMYK:
		r.mode = modeCMYK
		ws.src = copyRows(ws.src, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 4*w, h)
		r.pix = ws.src
	case *image.NRGBA:
		if opaqueNRGBA(m) {
			r.mode = modeRGB
			ws.src = dropAlpha8(ws.src, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h)
		} else {
			r.mode = modeRGBA
			ws.src = copyRows(ws.src, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 4*w, h)
		}
		r.pix = ws.src
	case *image.RGBA:
		if !opaqueRGBA(m) {
			return generic(ws, img)
		}
		r.mode = modeRGB
		ws.src = dropAlpha8(ws.src, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h)
		r.pix = ws.src
	case *image.RGBA64:
		if !opaqueRGBA64(m) {
			return generic(ws, img)
		}
		r = rgba64Raster(ws, m)
	case *image.NRGBA64:
		r = nrgba64Raster(ws, m)
	case *image.Paletted:
		r = palettedRaster(ws, m)
	default:
		r = generic(ws, img)
	}
	return r
}

// copyRows copies h rows of n bytes, the first at off and each stride
// after the previous, into dst, packed.
func copyRows(dst, pix []byte, off, stride, n, h int) []byte {
	dst = growBytes(dst, n*h)
	for y := 0; y < h; y++ {
		copy(dst[y*n:(y+1)*n], pix[off+y*stride:off+y*stride+n])
	}
	return dst
}

// gray16Raster is a 16-bit grey image as Pillow's mode "I".
func gray16Raster(ws *workspace, m *image.Gray16) raster {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	ws.src32 = growInt32s(ws.src32, w*h)
	for y := 0; y < h; y++ {
		off := m.PixOffset(b.Min.X, b.Min.Y+y)
		row := m.Pix[off : off+2*w]
		out := ws.src32[y*w : (y+1)*w]
		for x := range out {
			out[x] = int32(row[2*x])<<8 | int32(row[2*x+1])
		}
	}
	return raster{w: w, h: h, mode: modeI, ipix: ws.src32}
}

// rgba64Raster is an opaque 16-bit RGB image (a 16-bit RGB PNG): Pillow
// keeps the most significant byte ("RGB;16B").
func rgba64Raster(ws *workspace, m *image.RGBA64) raster {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	ws.src = growBytes(ws.src, w*h*3)
	for y := 0; y < h; y++ {
		off := m.PixOffset(b.Min.X, b.Min.Y+y)
		row := m.Pix[off : off+8*w]
		out := ws.src[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = row[8*x], row[8*x+2], row[8*x+4]
		}
	}
	return raster{w: w, h: h, mode: modeRGB, pix: ws.src}
}

// nrgba64Raster is a 16-bit RGBA or grey+alpha PNG: the most significant
// bytes ("RGBA;16B", "LA;16B"), RGB when every pixel is opaque.
func nrgba64Raster(ws *workspace, m *image.NRGBA64) raster {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	ws.src = growBytes(ws.src, w*h*4)
	opaque := true
	for y := 0; y < h; y++ {
		off := m.PixOffset(b.Min.X, b.Min.Y+y)
		row := m.Pix[off : off+8*w]
		out := ws.src[y*w*4 : (y+1)*w*4]
		for x := 0; x < w; x++ {
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = row[8*x], row[8*x+2], row[8*x+4], row[8*x+6]
			if row[8*x+6] != 0xff {
				opaque = false
			}
		}
	}
	r := raster{w: w, h: h, mode: modeRGBA, pix: ws.src}
	if opaque {
		r = rgbaToRGB(ws, r)
	}
	return r
}

// palettedRaster expands a palette image to RGB, keeping mode "P" (resized
// with nearest neighbour, as Pillow forces).
func palettedRaster(ws *workspace, m *image.Paletted) raster {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var lut [256][3]uint8
	for i, c := range m.Palette {
		if i >= 256 {
			break
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		lut[i] = [3]uint8{n.R, n.G, n.B}
	}
	ws.src = growBytes(ws.src, w*h*3)
	for y := 0; y < h; y++ {
		off := m.PixOffset(b.Min.X, b.Min.Y+y)
		row := m.Pix[off : off+w]
		out := ws.src[y*w*3 : (y+1)*w*3]
		for x, idx := range row {
			c := lut[idx]
			out[3*x], out[3*x+1], out[3*x+2] = c[0], c[1], c[2]
		}
	}
	return raster{w: w, h: h, mode: modeP, pix: ws.src}
}

// generic converts any image through color.NRGBAModel (non-premultiplied
// colour, as Pillow stores RGBA).
func generic(ws *workspace, img image.Image) raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	r := raster{w: w, h: h, mode: modeRGBA}
	ws.src = growBytes(ws.src, w*h*4)
	opaque := true
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			ws.src[i], ws.src[i+1], ws.src[i+2], ws.src[i+3] = c.R, c.G, c.B, c.A
			if c.A != 0xff {
				opaque = false
			}
			i += 4
		}
	}
	r.pix = ws.src
	if opaque {
		r = rgbaToRGB(ws, r)
	}
	return r
}

// rgbaToRGB drops an all-opaque alpha channel in place (Pillow's result is
// the same whether such an image is RGB or RGBA).
func rgbaToRGB(_ *workspace, r raster) raster {
	n := r.w * r.h
	for i := 0; i < n; i++ {
		r.pix[3*i], r.pix[3*i+1], r.pix[3*i+2] = r.pix[4*i], r.pix[4*i+1], r.pix[4*i+2]
	}
	r.pix = r.pix[:3*n]
	r.mode = modeRGB
	return r
}

func opaqueNRGBA(m *image.NRGBA) bool {
	b := m.Bounds()
	return opaque8(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, b.Dx(), b.Dy())
}

func opaqueRGBA(m *image.RGBA) bool {
	b := m.Bounds()
	return opaque8(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, b.Dx(), b.Dy())
}

// dropAlpha8 copies the colour bytes of an 8-bit, 4-channel pixel buffer
// (w×h pixels from off, rows stride bytes apart) into dst as packed RGB.
func dropAlpha8(dst, pix []byte, off, stride, w, h int) []byte {
	dst = growBytes(dst, w*h*3)
	for y := 0; y < h; y++ {
		row := pix[off+y*stride : off+y*stride+4*w]
		out := dst[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
		}
	}
	return dst
}

// opaque8 reports whether every alpha byte of an 8-bit, 4-channel pixel
// buffer (w×h pixels from off, rows stride bytes apart) is 0xff.
func opaque8(pix []byte, off, stride, w, h int) bool {
	for y := 0; y < h; y++ {
		row := pix[off+y*stride : off+y*stride+4*w]
		for i := 3; i < len(row); i += 4 {
			if row[i] != 0xff {
				return false
			}
		}
	}
	return true
}

func opaqueRGBA64(m *image.RGBA64) bool {
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		off := m.PixOffset(b.Min.X, y)
		row := m.Pix[off : off+8*b.Dx()]
		for i := 6; i < len(row); i += 8 {
			if row[i] != 0xff || row[i+1] != 0xff {
				return false
			}
		}
	}
	return true
}

// ycbcrToRGB converts m (as image/jpeg decodes it, chroma still
// subsampled) into interleaved RGB the way libjpeg-turbo's default
// decompression does, which is what Pillow sees: "fancy" triangle-filter
// upsampling of 4:2:0 and 4:2:2 chroma and jdcolor.c's fixed-point
// conversion. Other subsampling ratios replicate chroma samples.
func ycbcrToRGB(dst []uint8, m *image.YCbCr) {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	cb := make([]uint8, w+2)
	cr := make([]uint8, w+2)
	fancy := b.Min == image.Point{} &&
		(m.SubsampleRatio == image.YCbCrSubsampleRatio420 || m.SubsampleRatio == image.YCbCrSubsampleRatio422)
	cw := (w + 1) / 2
	ch := h
	if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		ch = (h + 1) / 2
	}
	for y := 0; y < h; y++ {
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
		switch {
		case fancy && m.SubsampleRatio == image.YCbCrSubsampleRatio420:
			k, far := y/2, y/2-1
			if y%2 == 1 {
				far = k + 1
			}
			far = max(0, min(far, ch-1))
			fancyH2V2(cb, m.Cb[k*m.CStride:], m.Cb[far*m.CStride:], cw)
			fancyH2V2(cr, m.Cr[k*m.CStride:], m.Cr[far*m.CStride:], cw)
		case fancy:
			fancyH2V1(cb, m.Cb[y*m.CStride:], cw)
			fancyH2V1(cr, m.Cr[y*m.CStride:], cw)
		default:
			for x := 0; x < w; x++ {
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				cb[x], cr[x] = m.Cb[ci], m.Cr[ci]
			}
		}
		out := dst[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			yy := int32(yrow[x])
			u := int32(cb[x]) - 128
			v := int32(cr[x]) - 128
			out[3*x] = clamp255(yy + (91881*v+32768)>>16)
			out[3*x+1] = clamp255(yy + (-22554*u+32768-46802*v)>>16)
			out[3*x+2] = clamp255(yy + (116130*u+32768)>>16)
		}
	}
}

func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// fancyH2V2 is libjpeg's h2v2_fancy_upsample for one output row: near is
// the nearer chroma row (weight 3), far the other (weight 1).
func fancyH2V2(out, near, far []uint8, cw int) {
	col := func(i int) int32 {
		if i >= cw {
			i = cw - 1
		}
		return int32(near[i])*3 + int32(far[i])
	}
	this := col(0)
	if cw == 1 {
		out[0] = uint8((this*4 + 8) >> 4)
		out[1] = uint8((this*4 + 7) >> 4)
		return
	}
	next := col(1)
	out[0] = uint8((this*4 + 8) >> 4)
	out[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	o := 2
	for c := 2; c < cw; c++ {
		next = col(c)
		out[o] = uint8((this*3 + last + 8) >> 4)
		out[o+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
		o += 2
	}
	out[o] = uint8((this*3 + last + 8) >> 4)
	out[o+1] = uint8((this*4 + 7) >> 4)
}

// fancyH2V1 is libjpeg's h2v1_fancy_upsample for one row.
func fancyH2V1(out, in []uint8, cw int) {
	if cw == 1 {
		out[0], out[1] = in[0], in[0]
		return
	}
	v := int32(in[0])
	out[0] = in[0]
	out[1] = uint8((v*3 + int32(in[1]) + 2) >> 2)
	o := 2
	for c := 1; c < cw-1; c++ {
		v = int32(in[c]) * 3
		out[o] = uint8((v + int32(in[c-1]) + 1) >> 2)
		out[o+1] = uint8((v + int32(in[c+1]) + 2) >> 2)
		o += 2
	}
	v = int32(in[cw-1])
	out[o] = uint8((v*3 + int32(in[cw-2]) + 1) >> 2)
	out[o+1] = in[cw-1]
}
