//go:build cgo

package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// BenchmarkRun measures end-to-end ingest (walk, worker pool, batches to
// the model, background writes) into a fresh local store per iteration and
// reports images/s. "small" is 64 drawn images of a few hundred pixels, half
// PNG half JPEG; "12mp" is 16 4000×3000 JPEGs (distinct bytes, one picture),
// where the decoder dominates unless it scales in the DCT domain (-tags
// libjpeg). The model is tiny-shapes, or the model directory in
// $CLIPRAG_BENCH_MODEL (for example the random ViT-B/32 that
// scripts/build_vit_b32.py builds). Profile with
//
//	go test -run '^$' -bench Run -benchtime 3x -cpuprofile cpu.prof ./tools/ingest/
//
// scripts/bench.sh measures the same pipeline against decode alone and the
// model alone and writes BENCHMARKS.md.
func BenchmarkRun(b *testing.B) {
	m := benchModel(b)
	small := b.TempDir()
	drawSet(b, small, 64, 7)
	big := b.TempDir()
	writeBigJPEGs(b, big, 16)
	for _, tc := range []struct{ name, dir string }{{"small", small}, {"12mp", big}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			indexed := 0
			for b.Loop() {
				b.StopTimer()
				s, err := local.Open(b.TempDir(), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				sum, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{tc.dir}})
				if err != nil {
					b.Fatal(err)
				}
				if len(sum.Failed) > 0 || sum.Indexed == 0 {
					b.Fatalf("indexed %d, failed %v", sum.Indexed, sum.Failed)
				}
				indexed += sum.Indexed
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(indexed)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// benchModel loads $CLIPRAG_BENCH_MODEL, or the tiny model.
func benchModel(b *testing.B) *embed.Model {
	b.Helper()
	dir := os.Getenv("CLIPRAG_BENCH_MODEL")
	if dir == "" {
		return toolstest.Model(b)
	}
	m, err := embed.Load(context.Background(), dir, embed.WithOffline(true), embed.WithLibrary(os.Getenv("ONNXRUNTIME_LIB")))
	if err != nil {
		b.Fatalf("load %s: %v", dir, err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// writeBigJPEGs writes n 4000×3000 JPEGs of one photo-like picture (smooth
// gradients, blocks, noise; quality 90), each with its own comment segment
// so that the files' hashes differ.
func writeBigJPEGs(b *testing.B, dir string, n int) {
	b.Helper()
	const w, h = 4000, 3000
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewSource(3))
	for y := range h {
		for x := range w {
			v := (x*200/w+y*55/h)/2 + 40 + rng.Intn(13)
			if (x/150+y/150)%3 == 0 {
				v += 60
			}
			img.Y[y*img.YStride+x] = uint8(min(255, v))
		}
	}
	for i := range img.Cb {
		img.Cb[i] = uint8(100 + i%37)
		img.Cr[i] = uint8(140 - i%23)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for i := range n {
		com := fmt.Appendf(nil, "bench %d", i)
		file := append([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0, byte(len(com) + 2)}, com...)
		file = append(file, data[2:]...)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("big-%02d.jpg", i)), file, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
