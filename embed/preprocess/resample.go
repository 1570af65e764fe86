package preprocess

import "math"

// This file ports Pillow's ImagingResample (libImaging/Resample.c, Pillow
// 9.x) for the bicubic filter: separable convolution, horizontal pass then
// vertical pass, coefficients normalised in float64 and converted to 22-bit
// fixed point for 8-bit images, with 8-bit rounding and clipping between the
// two passes. 32-bit integer images ("I" mode, 16-bit greyscale PNGs) use the
// float64 coefficients directly, as Pillow does.

// precisionBits is Pillow's PRECISION_BITS (32 - 8 - 2).
const precisionBits = 32 - 8 - 2

const bicubicSupport = 2.0

// bicubicFilter is Pillow's bicubic_filter with a = -0.5.
func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// coeffs holds the filter taps of one pass: for output index i the input
// window starts at bounds[2i] and has bounds[2i+1] taps, whose weights are
// kf[i*ksize:] (float64) and ki[i*ksize:] (fixed point).
type coeffs struct {
	ksize  int
	bounds []int
	kf     []float64
	ki     []int32
}

// precompute is Pillow's precompute_coeffs for the box [in0, in1) of an
// input of inSize samples resampled to outSize samples.
func precompute(c *coeffs, inSize int, in0, in1 float32, outSize int) {
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c.ksize = ksize
	c.bounds = growInts(c.bounds, outSize*2)
	c.kf = growFloats(c.kf, outSize*ksize)
	c.ki = growInt32s(c.ki, outSize*ksize)
	ss := 1 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(in0) + (float64(xx)+0.5)*scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		k := c.kf[xx*ksize : (xx+1)*ksize]
		ww := 0.0
		x := 0
		for ; x < xmax; x++ {
			w := bicubicFilter((float64(x+xmin) - center + 0.5) * ss)
			k[x] = w
			ww += w
		}
		for x = 0; x < xmax; x++ {
			if ww != 0 {
				k[x] /= ww
			}
		}
		for ; x < ksize; x++ {
			k[x] = 0
		}
		ki := c.ki[xx*ksize : (xx+1)*ksize]
		for x = 0; x < ksize; x++ {
			if k[x] < 0 {
				ki[x] = int32(-0.5 + k[x]*(1<<precisionBits))
			} else {
				ki[x] = int32(0.5 + k[x]*(1<<precisionBits))
			}
		}
		c.bounds[xx*2] = xmin
		c.bounds[xx*2+1] = xmax
	}
}

// clip8 is Pillow's clip8: the fixed-point sum shifted down and clamped.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// roundUp is Pillow's ROUND_UP macro.
func roundUp(f float64) int32 {
	if f >= 0 {
		return int32(f + 0.5)
	}
	return int32(f - 0.5)
}

// resampleH8 runs the horizontal pass over rows [y0, y0+rows) of src
// (width sw, ch interleaved channels, stride sw*ch) for the output columns
// [x0, x0+ow), writing dst (stride ow*ch).
func resampleH8(dst, src []uint8, sw, ch, y0, rows int, c *coeffs, x0, ow int) {
	stride := sw * ch
	ks := c.ksize
	const half = int32(1) << (precisionBits - 1)
	for r := 0; r < rows; r++ {
		in := src[(y0+r)*stride : (y0+r+1)*stride]
		out := dst[r*ow*ch : (r+1)*ow*ch]
		for i := 0; i < ow; i++ {
			xx := x0 + i
			xmin, n := c.bounds[xx*2], c.bounds[xx*2+1]
			k := c.ki[xx*ks : xx*ks+n]
			switch ch {
			case 1:
				s0 := half
				p := in[xmin : xmin+n]
				for x, w := range k {
					s0 += int32(p[x]) * w
				}
				out[i] = clip8(s0)
			case 3:
				s0, s1, s2 := half, half, half
				p := in[xmin*3 : (xmin+n)*3]
				for x, w := range k {
					q := p[x*3 : x*3+3 : x*3+3]
					s0 += int32(q[0]) * w
					s1 += int32(q[1]) * w
					s2 += int32(q[2]) * w
				}
				o := out[i*3 : i*3+3 : i*3+3]
				o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
			case 4:
				s0, s1, s2, s3 := half, half, half, half
				p := in[xmin*4 : (xmin+n)*4]
				for x, w := range k {
					q := p[x*4 : x*4+4 : x*4+4]
					s0 += int32(q[0]) * w
					s1 += int32(q[1]) * w
					s2 += int32(q[2]) * w
					s3 += int32(q[3]) * w
				}
				o := out[i*4 : i*4+4 : i*4+4]
				o[0], o[1], o[2], o[3] = clip8(s0), clip8(s1), clip8(s2), clip8(s3)
			}
		}
	}
}

// resampleV8 runs the vertical pass: output rows [y0, y0+oh) of rowLen
// bytes each, read from src rows (stride srcStride, starting at byte xoff)
// whose first row is input row srcY0; the coefficient bounds are in input
// rows. dst has stride rowLen.
func resampleV8(dst, src []uint8, srcStride, xoff, rowLen, srcY0 int, c *coeffs, y0, oh int) {
	ks := c.ksize
	const half = int32(1) << (precisionBits - 1)
	acc := getInt32s(rowLen)
	defer putInt32s(acc)
	a := (*acc)[:rowLen]
	for r := 0; r < oh; r++ {
		yy := y0 + r
		ymin, n := c.bounds[yy*2]-srcY0, c.bounds[yy*2+1]
		k := c.ki[yy*ks : yy*ks+n]
		for i := range a {
			a[i] = half
		}
		for y, wgt := range k {
			off := (ymin+y)*srcStride + xoff
			row := src[off : off+rowLen]
			row = row[:len(a)]
			for i, v := range row {
				a[i] += int32(v) * wgt
			}
		}
		out := dst[r*rowLen : (r+1)*rowLen]
		out = out[:len(a)]
		for i, v := range a {
			out[i] = clip8(v)
		}
	}
}

// resampleH32 is the horizontal pass for one-channel int32 images.
func resampleH32(dst, src []int32, sw, y0, rows int, c *coeffs, x0, ow int) {
	ks := c.ksize
	for r := 0; r < rows; r++ {
		in := src[(y0+r)*sw : (y0+r+1)*sw]
		out := dst[r*ow : (r+1)*ow]
		for i := 0; i < ow; i++ {
			xx := x0 + i
			xmin, n := c.bounds[xx*2], c.bounds[xx*2+1]
			ss := 0.0
			for x, w := range c.kf[xx*ks : xx*ks+n] {
				ss += float64(in[xmin+x]) * w
			}
			out[i] = roundUp(ss)
		}
	}
}

// resampleV32 is the vertical pass for one-channel int32 images, with
// the arguments of resampleV8.
func resampleV32(dst, src []int32, srcStride, xoff, rowLen, srcY0 int, c *coeffs, y0, oh int) {
	ks := c.ksize
	for r := 0; r < oh; r++ {
		yy := y0 + r
		ymin, n := c.bounds[yy*2]-srcY0, c.bounds[yy*2+1]
		k := c.kf[yy*ks : yy*ks+n]
		out := dst[r*rowLen : (r+1)*rowLen]
		for x := range out {
			ss := 0.0
			for y, wgt := range k {
				ss += float64(src[(ymin+y)*srcStride+xoff+x]) * wgt
			}
			out[x] = roundUp(ss)
		}
	}
}

// nearestTable returns the source index of each of the out output samples
// as Pillow's ImagingScaleAffine computes it: a running float64 sum
// starting at scale/2, truncated (the running sum, not (i+0.5)*scale,
// decides the ties).
func nearestTable(t []int, in, out int) []int {
	t = growInts(t, out)
	if in == out {
		for i := range t {
			t[i] = i
		}
		return t
	}
	scale := float64(in) / float64(out)
	xo := scale * 0.5
	for i := range t {
		j := int(xo)
		if j >= in {
			j = in - 1
		}
		t[i] = j
		xo += scale
	}
	return t
}

func growInts(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growFloats(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func growInt32s(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growBytes(s []uint8, n int) []uint8 {
	if cap(s) < n {
		return make([]uint8, n)
	}
	return s[:n]
}
