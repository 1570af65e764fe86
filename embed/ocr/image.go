package ocr

import (
	"image"
	"image/color"
	"math"
)

// bgr is a packed 8-bit image in the channel order PaddleOCR's models were
// trained on (OpenCV's B, G, R).
type bgr struct {
	w, h int
	pix  []uint8 // pix[3*(y*w+x)+c]; c 0 = blue, 1 = green, 2 = red
}

func newBGR(w, h int) bgr { return bgr{w: w, h: h, pix: make([]uint8, 3*w*h)} }

// toBGR converts img to a bgr whose longer side is at most maxSide
// (maxSide ≤ 0: no limit), reducing it by an integer factor with box
// averaging when it is larger. Transparent pixels are composited over white.
// Memory beyond the result is one source row. It returns the image and the
// factor (1 when not reduced).
func toBGR(img image.Image, maxSide int) (bgr, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	k := 1
	if maxSide > 0 && max(w, h) > maxSide {
		k = (max(w, h) + maxSide - 1) / maxSide
	}
	ow, oh := (w+k-1)/k, (h+k-1)/k
	out := newBGR(ow, oh)
	row := make([]uint8, 3*w)
	if k == 1 {
		for y := range h {
			rowBGR(img, b.Min.Y+y, out.pix[3*y*w:3*(y+1)*w])
		}
		return out, 1
	}
	acc := make([]uint32, 3*ow)
	cnt := make([]uint32, ow)
	for oy := range oh {
		clear(acc)
		clear(cnt)
		for y := oy * k; y < min((oy+1)*k, h); y++ {
			rowBGR(img, b.Min.Y+y, row)
			for x := range w {
				ox := x / k
				acc[3*ox] += uint32(row[3*x])
				acc[3*ox+1] += uint32(row[3*x+1])
				acc[3*ox+2] += uint32(row[3*x+2])
				cnt[ox]++
			}
		}
		dst := out.pix[3*oy*ow : 3*(oy+1)*ow]
		for ox := range ow {
			n := cnt[ox]
			for c := range 3 {
				dst[3*ox+c] = uint8((acc[3*ox+c] + n/2) / n)
			}
		}
	}
	return out, k
}

// rowBGR writes row y of img (absolute coordinate) into dst as B, G, R
// bytes, with fast paths for the types image decoders return.
func rowBGR(img image.Image, y int, dst []uint8) {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		for x := range w {
			yi := m.YOffset(b.Min.X+x, y)
			ci := m.COffset(b.Min.X+x, y)
			r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			dst[3*x], dst[3*x+1], dst[3*x+2] = bb, g, r
		}
	case *image.Gray:
		s := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := range w {
			v := s[x]
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	case *image.RGBA:
		s := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := range w {
			p := s[4*x : 4*x+4 : 4*x+4]
			white := 255 - p[3] // premultiplied: c + (1-α)·255
			dst[3*x], dst[3*x+1], dst[3*x+2] = p[2]+white, p[1]+white, p[0]+white
		}
	case *image.NRGBA:
		s := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := range w {
			p := s[4*x : 4*x+4 : 4*x+4]
			if a := p[3]; a == 255 {
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[2], p[1], p[0]
			} else {
				dst[3*x], dst[3*x+1], dst[3*x+2] = overWhite(p[2], a), overWhite(p[1], a), overWhite(p[0], a)
			}
		}
	default:
		for x := range w {
			r, g, bb, a := img.At(b.Min.X+x, y).RGBA() // premultiplied, 16 bit
			white := 0xffff - a
			dst[3*x] = uint8((bb + white) >> 8)
			dst[3*x+1] = uint8((g + white) >> 8)
			dst[3*x+2] = uint8((r + white) >> 8)
		}
	}
}

// overWhite composites a non-premultiplied channel value c with alpha a over
// white.
func overWhite(c, a uint8) uint8 {
	return uint8((uint32(c)*uint32(a) + 255*uint32(255-a) + 127) / 255)
}

// linearTaps are the source indices and weights of a 1-D resize with
// OpenCV's INTER_LINEAR rule: half-pixel centres, edges clamped, no
// anti-aliasing.
type linearTaps struct {
	i0, i1 []int
	f      []float32 // weight of i1
}

func newLinearTaps(src, dst int) linearTaps {
	t := linearTaps{i0: make([]int, dst), i1: make([]int, dst), f: make([]float32, dst)}
	scale := float64(src) / float64(dst)
	for d := range dst {
		s := (float64(d)+0.5)*scale - 0.5
		i := int(math.Floor(s))
		f := s - float64(i)
		switch {
		case i < 0:
			i, f = 0, 0
		case i >= src-1:
			i, f = src-1, 0
		}
		t.i0[d], t.f[d] = i, float32(f)
		t.i1[d] = min(i+1, src-1)
	}
	return t
}

// resizeInto resizes src to dw×dh with OpenCV's bilinear rule and writes
// the result, channel-major, into dst (3 planes of stride planeW, each
// plane planeW×dh, starting at column 0) as (v/255 - mean[c]) / std[c].
// Channels keep src's B, G, R order.
func resizeInto(src bgr, dw, dh int, dst []float32, planeW int, mean, std [3]float32) {
	tx := newLinearTaps(src.w, dw)
	ty := newLinearTaps(src.h, dh)
	var scale, shift [3]float32
	for c := range 3 {
		scale[c] = 1 / (255 * std[c])
		shift[c] = -mean[c] / std[c]
	}
	plane := planeW * dh
	r0 := make([]float32, 3*dw)
	r1 := make([]float32, 3*dw)
	horiz := func(y int, out []float32) {
		row := src.pix[3*y*src.w : 3*(y+1)*src.w]
		for x := range dw {
			a, b, f := 3*tx.i0[x], 3*tx.i1[x], tx.f[x]
			for c := range 3 {
				out[3*x+c] = float32(row[a+c]) + f*(float32(row[b+c])-float32(row[a+c]))
			}
		}
	}
	c0, c1 := -1, -1 // the source rows r0 and r1 hold
	for y := range dh {
		y0, y1, f := ty.i0[y], ty.i1[y], ty.f[y]
		if y0 != c0 {
			if y0 == c1 {
				r0, r1 = r1, r0
				c0, c1 = c1, c0
			} else {
				horiz(y0, r0)
				c0 = y0
			}
		}
		if y1 != c1 {
			horiz(y1, r1)
			c1 = y1
		}
		for x := range dw {
			for c := range 3 {
				v := r0[3*x+c] + f*(r1[3*x+c]-r0[3*x+c])
				dst[c*plane+y*planeW+x] = v*scale[c] + shift[c]
			}
		}
	}
}

// filter is a resampling kernel and its support (radius at scale 1).
type filter struct {
	k       func(float64) float64
	support float64
}

var (
	lanczosFilter = filter{lanczos3, 3} // Pillow's LANCZOS, libvips' lanczos3
	bicubicFilter = filter{bicubic, 2}  // Pillow's BICUBIC (a = -0.5)
)

// taps are the source indices and weights of a 1-D resize with a filter
// widened by the reduction factor when reducing (so it averages instead of
// skipping pixels), the window clipped to the image and renormalised, as
// Pillow resizes.
type taps struct {
	start []int       // first source index of each destination pixel
	w     [][]float32 // weights from start on, summing to 1
}

func newTaps(src, dst int, f filter) taps {
	support := f.support
	scale := float64(src) / float64(dst)
	fs := math.Max(scale, 1)
	t := taps{start: make([]int, dst), w: make([][]float32, dst)}
	for d := range dst {
		c := (float64(d) + 0.5) * scale
		lo := max(int(math.Floor(c-support*fs)), 0)
		hi := min(int(math.Ceil(c+support*fs)), src-1)
		ws := make([]float64, 0, hi-lo+1)
		var sum float64
		for i := lo; i <= hi; i++ {
			v := f.k((float64(i) + 0.5 - c) / fs)
			ws = append(ws, v)
			sum += v
		}
		w := make([]float32, len(ws))
		for i, v := range ws {
			w[i] = float32(v / sum)
		}
		// Trim zero weights at both ends.
		for len(w) > 1 && w[0] == 0 {
			w, lo = w[1:], lo+1
		}
		for len(w) > 1 && w[len(w)-1] == 0 {
			w = w[:len(w)-1]
		}
		t.start[d], t.w[d] = lo, w
	}
	return t
}

func lanczos3(x float64) float64 {
	switch {
	case x == 0:
		return 1
	case x <= -3 || x >= 3:
		return 0
	}
	px := math.Pi * x
	return 3 * math.Sin(px) * math.Sin(px/3) / (px * px)
}

func bicubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// resampleInto is resizeInto with filter f (antialiased when reducing),
// each channel clamped to [0, 255] before normalisation as an 8-bit resize
// would. The recognition and direction models get their input through it
// (recFilter): PaddleOCR's bilinear resize without antialiasing loses the
// thin gaps between words of small English text, and the lines come out
// without spaces ("Faultsystemoverlaymap"); see BENCHMARKS.md, ocr.
func resampleInto(src bgr, dw, dh int, dst []float32, planeW int, mean, std [3]float32, f filter) {
	tx := newTaps(src.w, dw, f)
	ty := newTaps(src.h, dh, f)
	var scale, shift [3]float32
	for c := range 3 {
		scale[c] = 1 / (255 * std[c])
		shift[c] = -mean[c] / std[c]
	}
	// Horizontal pass: src.h rows of dw pixels.
	tmp := make([]float32, 3*dw*src.h)
	for y := range src.h {
		row := src.pix[3*y*src.w : 3*(y+1)*src.w]
		out := tmp[3*y*dw : 3*(y+1)*dw]
		for x := range dw {
			var a0, a1, a2 float32
			base := 3 * tx.start[x]
			for i, w := range tx.w[x] {
				p := row[base+3*i : base+3*i+3 : base+3*i+3]
				a0 += w * float32(p[0])
				a1 += w * float32(p[1])
				a2 += w * float32(p[2])
			}
			out[3*x], out[3*x+1], out[3*x+2] = a0, a1, a2
		}
	}
	plane := planeW * dh
	for y := range dh {
		y0, ws := ty.start[y], ty.w[y]
		for x := range dw {
			var acc [3]float32
			for i, w := range ws {
				p := tmp[3*((y0+i)*dw+x):]
				acc[0] += w * p[0]
				acc[1] += w * p[1]
				acc[2] += w * p[2]
			}
			for c := range 3 {
				v := min(max(acc[c], 0), 255)
				dst[c*plane+y*planeW+x] = v*scale[c] + shift[c]
			}
		}
	}
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// cubicWeights are OpenCV's bicubic weights (a = -0.75) for fraction t.
func cubicWeights(t float64) [4]float64 {
	const a = -0.75
	w0 := ((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a
	w1 := ((a+2)*t-(a+3))*t*t + 1
	w2 := ((a+2)*(1-t)-(a+3))*(1-t)*(1-t) + 1
	return [4]float64{w0, w1, w2, 1 - w0 - w1 - w2}
}

// homography maps destination pixel coordinates to source coordinates.
type homography [9]float64

func (m homography) apply(x, y float64) (float64, float64) {
	d := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / d, (m[3]*x + m[4]*y + m[5]) / d
}

// quadHomography returns the map from the w×h rectangle (0,0), (w,0), (w,h),
// (0,h) onto the quadrilateral q (same corner order), as
// cv2.getPerspectiveTransform(q, rect) inverted; ok is false when q is
// degenerate.
func quadHomography(q [4][2]float64, w, h float64) (homography, bool) {
	// Unit square to quad (Heckbert), then scale the square to w×h.
	x0, y0 := q[0][0], q[0][1]
	x1, y1 := q[1][0], q[1][1]
	x2, y2 := q[2][0], q[2][1]
	x3, y3 := q[3][0], q[3][1]
	sx := x0 - x1 + x2 - x3
	sy := y0 - y1 + y2 - y3
	var a, b, c, d, e, f, g, hh float64
	if math.Abs(sx) < 1e-12 && math.Abs(sy) < 1e-12 {
		a, b, c = x1-x0, x3-x0, x0
		d, e, f = y1-y0, y3-y0, y0
	} else {
		dx1, dx2 := x1-x2, x3-x2
		dy1, dy2 := y1-y2, y3-y2
		den := dx1*dy2 - dx2*dy1
		if math.Abs(den) < 1e-12 {
			return homography{}, false
		}
		g = (sx*dy2 - dx2*sy) / den
		hh = (dx1*sy - sx*dy1) / den
		a, b, c = x1-x0+g*x1, x3-x0+hh*x3, x0
		d, e, f = y1-y0+g*y1, y3-y0+hh*y3, y0
	}
	m := homography{a / w, b / h, c, d / w, e / h, f, g / w, hh / h, 1}
	if det := m[0]*(m[4]*m[8]-m[5]*m[7]) - m[1]*(m[3]*m[8]-m[5]*m[6]) + m[2]*(m[3]*m[7]-m[4]*m[6]); math.Abs(det) < 1e-12 {
		return homography{}, false
	}
	for _, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return homography{}, false
		}
	}
	return m, true
}

// warp samples src through m into a w×h image with OpenCV's bicubic
// interpolation and replicated borders (cv2.warpPerspective with
// INTER_CUBIC and BORDER_REPLICATE).
func warp(src bgr, m homography, w, h int) bgr {
	out := newBGR(w, h)
	for y := range h {
		for x := range w {
			sx, sy := m.apply(float64(x), float64(y))
			px := out.pix[3*(y*w+x) : 3*(y*w+x)+3]
			sampleCubic(src, sx, sy, px)
		}
	}
	return out
}

func sampleCubic(src bgr, sx, sy float64, px []uint8) {
	if math.IsNaN(sx) || math.IsNaN(sy) {
		return
	}
	// Far outside, clamp first: replicated borders make it the edge value.
	sx = math.Max(-2, math.Min(sx, float64(src.w)+1))
	sy = math.Max(-2, math.Min(sy, float64(src.h)+1))
	ix, iy := int(math.Floor(sx)), int(math.Floor(sy))
	wx, wy := cubicWeights(sx-float64(ix)), cubicWeights(sy-float64(iy))
	var acc [3]float64
	for j := range 4 {
		yy := min(max(iy-1+j, 0), src.h-1)
		row := src.pix[3*yy*src.w:]
		var racc [3]float64
		for i := range 4 {
			xx := min(max(ix-1+i, 0), src.w-1)
			p := row[3*xx : 3*xx+3]
			racc[0] += wx[i] * float64(p[0])
			racc[1] += wx[i] * float64(p[1])
			racc[2] += wx[i] * float64(p[2])
		}
		for c := range 3 {
			acc[c] += wy[j] * racc[c]
		}
	}
	for c := range 3 {
		px[c] = clamp8(float32(acc[c]))
	}
}

// rotate90 turns img a quarter counter-clockwise (numpy's rot90).
func rotate90(img bgr) bgr {
	out := newBGR(img.h, img.w)
	for y := range img.h {
		for x := range img.w {
			// (x, y) goes to (y, w-1-x).
			copy(out.pix[3*((img.w-1-x)*out.w+y):][:3], img.pix[3*(y*img.w+x):][:3])
		}
	}
	return out
}

// rotate180 turns img half a turn.
func rotate180(img bgr) bgr {
	out := newBGR(img.w, img.h)
	n := img.w * img.h
	for i := range n {
		copy(out.pix[3*(n-1-i):][:3], img.pix[3*i:][:3])
	}
	return out
}
