package local

import (
	"math"
)

// Vectors are kept in memory as int8 codes with one float32 scale each
// (scalar quantisation): code[i] = round(v[i]/scale), scale = max|v[i]|/127,
// so v·w ≈ scale_v·scale_w·(code_v·code_w). For 512-d unit vectors the
// error of a dot product is about 1e-3, far below the gaps between
// neighbours' scores; searches rank candidates by it and re-score the best
// few with the exact float32 vectors from disk.

// quantize writes the int8 codes of v into code and returns the scale.
func quantize(v []float32, code []int8) float32 {
	var m float32
	for _, x := range v {
		if a := float32(math.Abs(float64(x))); a > m {
			m = a
		}
	}
	if m == 0 {
		clear(code)
		return 0
	}
	inv := 127 / m
	for i, x := range v {
		code[i] = int8(math.Round(float64(x * inv)))
	}
	return m / 127
}

// dequantize writes the approximate vector of code and scale into v.
func dequantize(code []int8, scale float32, v []float32) {
	for i, c := range code {
		v[i] = float32(c) * scale
	}
}

// dotInt8Go is the portable dot product of two int8 vectors of equal length.
func dotInt8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	for len(a) >= 4 {
		x, y := a[:4:4], b[:4:4]
		s0 += int32(x[0]) * int32(y[0])
		s1 += int32(x[1]) * int32(y[1])
		s2 += int32(x[2]) * int32(y[2])
		s3 += int32(x[3]) * int32(y[3])
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}
