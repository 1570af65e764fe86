package local

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func dotInt8AVX2(a, b *int8, n int) int32

// dotInt8 returns the dot product of two int8 vectors of equal length.
func dotInt8(a, b []int8) int32 {
	if hasAVX2 && len(a) >= 32 {
		b = b[:len(a)]
		n := len(a) &^ 31
		s := dotInt8AVX2(&a[0], &b[0], n)
		if n < len(a) {
			s += dotInt8Go(a[n:], b[n:])
		}
		return s
	}
	return dotInt8Go(a, b)
}
