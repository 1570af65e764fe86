package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"testing"
)

var (
	big12MPOnce sync.Once
	big12MP     []byte
)

// jpeg12MP returns a 4000×3000 photo-like JPEG, generated once per run
// (nothing big is committed).
func jpeg12MP(b *testing.B) []byte {
	b.Helper()
	big12MPOnce.Do(func() { big12MP = syntheticJPEG(b, 4000, 3000) })
	return big12MP
}

var clipPre = Preprocessor{Size: 224, Mode: CenterCrop,
	Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}

// BenchmarkJPEG12MP measures one 12 MP JPEG from bytes to tensor:
// "stdlib" is image/jpeg's full decode plus preprocessing, "decode-full"
// this package's full-resolution decoder (libjpeg-turbo under -tags
// libjpeg), "bytes" the Preprocessor.Bytes path the ingest pipeline uses
// (DCT-scaled under -tags libjpeg).
func BenchmarkJPEG12MP(b *testing.B) {
	data := jpeg12MP(b)
	dst := make([]float32, clipPre.TensorLen())
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			clipPre.ImageInto(dst, img)
		}
	})
	b.Run("decode-full", func(b *testing.B) {
		for b.Loop() {
			img, _, err := Decode("big.jpg", data, DecodeOptions{})
			if err != nil {
				b.Fatal(err)
			}
			clipPre.ImageInto(dst, img)
		}
	})
	b.Run("bytes", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := clipPre.Bytes("big.jpg", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPreprocess640x480 measures resize+crop+normalise alone for a
// decoded 640×480 JPEG.
func BenchmarkPreprocess640x480(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(syntheticJPEG(b, 640, 480)))
	if err != nil {
		b.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i)
		if i%4 == 3 {
			rgba.Pix[i] = 255
		}
	}
	dst := make([]float32, clipPre.TensorLen())
	for _, tc := range []struct {
		name string
		img  image.Image
	}{{"ycbcr", img}, {"rgb", rgba}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clipPre.ImageInto(dst, tc.img)
			}
		})
	}
}
