package local

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/viterin/vek/vek32"
)

func TestDotInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 31, 32, 33, 64, 100, 512, 768, 1000} {
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i] = int8(rng.IntN(256) - 128)
			b[i] = int8(rng.IntN(256) - 128)
		}
		if n > 2 {
			a[0], b[0], a[1], b[1] = -128, -128, 127, -128 // extremes
		}
		if got, want := dotInt8(a, b), dotInt8Go(a, b); got != want {
			t.Errorf("n=%d: dotInt8 = %d, portable %d", n, got, want)
		}
	}
}

func TestQuantizeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const dim = 512
	code, qc := make([]int8, dim), make([]int8, dim)
	worst := 0.0
	for range 200 {
		v, q := unit(rng, dim), unit(rng, dim)
		sv, sq := quantize(v, code), quantize(q, qc)
		approx := float64(sv*sq) * float64(dotInt8(code, qc))
		if e := math.Abs(approx - float64(vek32.Dot(v, q))); e > worst {
			worst = e
		}
	}
	if worst > 0.005 {
		t.Errorf("worst int8 dot error %.5f over 200 pairs of 512-d unit vectors, want < 0.005", worst)
	}
	t.Logf("worst int8 dot error %.5f", worst)
}

func BenchmarkDot512(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const dim = 512
	v, q := unit(rng, dim), unit(rng, dim)
	cv, cq := make([]int8, dim), make([]int8, dim)
	quantize(v, cv)
	quantize(q, cq)
	b.Run("int8", func(b *testing.B) {
		var s int32
		for b.Loop() {
			s += dotInt8(cv, cq)
		}
		_ = s
	})
	b.Run("int8-go", func(b *testing.B) {
		var s int32
		for b.Loop() {
			s += dotInt8Go(cv, cq)
		}
		_ = s
	})
	b.Run("float32-vek", func(b *testing.B) {
		var s float32
		for b.Loop() {
			s += vek32.Dot(v, q)
		}
		_ = s
	})
}

// TestPageDropperSparesTheHeap: a value outside the file's map (bbolt
// copies small buckets onto the heap) must never have its pages dropped,
// which would zero live Go memory.
func TestPageDropperSparesTheHeap(t *testing.T) {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = 0xab
	}
	d := pageDropper{base: 1 << 12, end: 2 << 12} // some other range
	d.saw(b[4096 : 8192+100])
	d.flush()
	for i, x := range b {
		if x != 0xab {
			t.Fatalf("byte %d of a heap value became %#x after flush", i, x)
		}
	}
}

// TestSignBits checks the eight-at-a-time sign bits against one code at a
// time, for lengths that are and are not multiples of 8 and 64.
func TestSignBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 100, 512, 768} {
		code := make([]int8, n)
		for i := range code {
			code[i] = int8(rng.IntN(256) - 128)
		}
		if n > 1 {
			code[0], code[n-1] = -128, 0 // the extremes of the sign test
		}
		want := make([]uint64, words(n))
		for i, c := range code {
			if c < 0 {
				want[i/64] |= 1 << (i % 64)
			}
		}
		got := make([]uint64, words(n))
		for i := range got {
			got[i] = ^uint64(0) // signBits must clear what was there
		}
		signBits(code, got)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: got %x, want %x", n, got, want)
		}
	}
}
