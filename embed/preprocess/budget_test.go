package preprocess

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
	"time"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeCost: the cost comes from the header, with the bit depth the
// decoder produces, and covers what decoding and preprocessing allocate.
func TestDecodeCost(t *testing.T) {
	r := image.Rect(0, 0, 100, 50)
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewRGBA(r), nil); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(r, color.Palette{color.Black, color.White})
	tests := []struct {
		name   string
		data   []byte
		decode int64 // bytes a pixel, decoded
	}{
		{"8-bit grey PNG", encodePNG(t, image.NewGray(r)), 1},
		{"16-bit grey PNG", encodePNG(t, image.NewGray16(r)), 2},
		{"8-bit RGBA PNG", encodePNG(t, image.NewNRGBA(r)), 4},
		{"16-bit RGBA PNG", encodePNG(t, image.NewNRGBA64(r)), 8},
		{"palette PNG", encodePNG(t, pal), 1},
		{"JPEG", jb.Bytes(), 3},
	}
	px := int64(r.Dx() * r.Dy())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeCost(tc.data, DecodeOptions{}, false); got != tc.decode*px {
				t.Errorf("decode cost %d, want %d", got, tc.decode*px)
			}
			if got := decodeCost(tc.data, DecodeOptions{}, true); got != (tc.decode+4)*px {
				t.Errorf("tensor cost %d, want %d", got, (tc.decode+4)*px)
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("not an image"), []byte("\x89PNG\r\n\x1a\n")} {
		if got := decodeCost(bad, DecodeOptions{}, true); got != 0 {
			t.Errorf("cost of %q = %d, want 0 (Decode reports it)", bad, got)
		}
	}
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(100)
	if _, err := b.Reserve(ctx, 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: err = %v, want ErrTooLarge", err)
	}
	r1, err := b.Reserve(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	// A second large request waits; a small one behind it waits too
	// (requests are granted in order, so large ones are not starved).
	got := make(chan string, 2)
	go func() {
		r, err := b.Reserve(ctx, 50)
		if err == nil {
			got <- "large"
			time.Sleep(10 * time.Millisecond)
			r()
		}
	}()
	for b.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	go func() {
		r, err := b.Reserve(ctx, 10)
		if err == nil {
			got <- "small"
			r()
		}
	}()
	for b.waiting() != 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if b.InUse() != 60 || len(got) != 0 {
		t.Fatalf("in use %d, %d granted: the small request overtook the large one", b.InUse(), len(got))
	}
	r1()
	r1() // a second release is a no-op
	<-got
	<-got
	// A request whose caller gives up leaves the budget as it was.
	r2, _ := b.Reserve(ctx, 90)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.Reserve(cctx, 20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	r2()
	for b.InUse() != 0 {
		time.Sleep(time.Millisecond)
	}
	if b.waiting() != 0 {
		t.Fatalf("%d waiters left", b.waiting())
	}
}

func (b *Budget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// TestBytesRefusesOverBudget: an image whose decoding would take more than
// the whole budget is refused with a clear error, before any pixel is
// allocated.
func TestBytesRefusesOverBudget(t *testing.T) {
	old := DefaultBudget.Limit()
	DefaultBudget.SetLimit(1 << 20)
	t.Cleanup(func() { DefaultBudget.SetLimit(old) })
	data := encodePNG(t, image.NewNRGBA64(image.Rect(0, 0, 400, 400))) // 400×400×12 bytes
	p := Preprocessor{Size: 32, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	_, _, err := p.Bytes("big.png", data)
	if !errors.Is(err, ErrTooLarge) || !bytesContains(err.Error(), "more than the 1 MB the decoder may use") {
		t.Fatalf("err = %v", err)
	}
}

func bytesContains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }
