package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// genFlags parses the -dir and -n flags every generator takes.
func genFlags(name string, args []string) (dir string, n int, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&dir, "dir", "", "output folder (created)")
	fs.IntVar(&n, "n", 100, "number of files")
	if err := fs.Parse(args); err != nil {
		return "", 0, err
	}
	if dir == "" || n <= 0 {
		return "", 0, fmt.Errorf("need -dir and a positive -n")
	}
	return dir, n, os.MkdirAll(dir, 0o755)
}

// parallel runs fn(i) for i in [0,n) on all cores and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
		next = make(chan int)
	)
	for range cores() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if ferr == nil {
						ferr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return ferr
}

// genSmall draws n images of the tiny model's domain, about 300 px on the
// shorter side, alternating PNG and JPEG (quality 90).
func genSmall(args []string) error {
	dir, n, err := genFlags("gen-small", args)
	if err != nil {
		return err
	}
	return parallel(n, func(i int) error {
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		c := tinyshapes.ClassList()[i%len(tinyshapes.ClassList())]
		w := 260 + rng.IntN(81)
		h := 260 + rng.IntN(81)
		img := tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.DrawOptions{Width: w, Height: h, Vary: true})
		ext := ".png"
		if i%2 == 1 {
			ext = ".jpg"
		}
		return tinyshapes.WriteFile(filepath.Join(dir, fmt.Sprintf("small-%05d%s", i, ext)), img)
	})
}

// genBig writes n 4000×3000 photo-like JPEGs (quality 90, 4:2:0 as cameras
// write them). Encoding 12 MP is slow, so up to four distinct pictures are
// drawn and each file gets a unique JPEG comment segment: the bytes (and so
// the content hash) differ per file while the decoding cost is that of the
// picture, as with photos that differ in their metadata.
func genBig(args []string) error {
	dir, n, err := genFlags("gen-big", args)
	if err != nil {
		return err
	}
	bases := make([][]byte, min(n, 4))
	if err := parallel(len(bases), func(i int) error {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, photo(4000, 3000, uint64(i)), &jpeg.Options{Quality: 90}); err != nil {
			return fmt.Errorf("encode 12 MP JPEG: %w", err)
		}
		bases[i] = buf.Bytes()
		return nil
	}); err != nil {
		return err
	}
	for i := range n {
		b := bases[i%len(bases)]
		com := fmt.Appendf(nil, "cliprag benchmark file %d", i)
		seg := []byte{0xFF, 0xFE, byte((len(com) + 2) >> 8), byte(len(com) + 2)}
		out := make([]byte, 0, len(b)+len(seg)+len(com))
		out = append(out, b[:2]...) // SOI
		out = append(out, seg...)
		out = append(out, com...)
		out = append(out, b[2:]...)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("photo-%04d.jpg", i)), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// genPhotos writes n distinct photo-like JPEGs of 1 to 3 megapixels
// (quality 90, 4:2:0), landscape and portrait, in the aspect ratios
// cameras and phones use (4:3, 3:2, 16:9).
func genPhotos(args []string) error {
	dir, n, err := genFlags("gen-photos", args)
	if err != nil {
		return err
	}
	aspects := [][2]int{{4, 3}, {3, 2}, {16, 9}}
	return parallel(n, func(i int) error {
		rng := rand.New(rand.NewPCG(uint64(i), 1103))
		a := aspects[i%len(aspects)]
		mp := 1e6 + rng.Float64()*2e6
		h := int(math.Sqrt(mp * float64(a[1]) / float64(a[0])))
		w := int(mp) / h
		if i%4 == 3 {
			w, h = h, w
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, photo(w, h, uint64(1000+i)), &jpeg.Options{Quality: 90}); err != nil {
			return fmt.Errorf("encode %dx%d JPEG: %w", w, h, err)
		}
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("photo-%04d.jpg", i)), buf.Bytes(), 0o644)
	})
}

// photo draws a w×h picture with the statistics of a photograph: smooth
// illumination gradients, soft-edged objects of different colours, sharp
// edges and sensor-like noise.
func photo(w, h int, seed uint64) *image.YCbCr {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	fx := make([]float64, w)
	fy := make([]float64, h)
	a, b := rng.Float64()*6, rng.Float64()*6
	for x := range fx {
		t := float64(x) / float64(w)
		fx[x] = 40*math.Sin(2*math.Pi*(t*1.3+a)) + 12*math.Sin(2*math.Pi*t*9+a)
	}
	for y := range fy {
		t := float64(y) / float64(h)
		fy[y] = 35*math.Cos(2*math.Pi*(t*0.9+b)) + 10*math.Sin(2*math.Pi*t*13+b)
	}
	for y := range h {
		row := img.Y[y*img.YStride:]
		for x := range w {
			row[x] = clamp8(120 + fx[x] + fy[y])
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	cw, ch := (w+1)/2, (h+1)/2
	for range 40 { // objects: ellipses with a soft edge and their own colour
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		rx, ry := 80+rng.Float64()*700, 80+rng.Float64()*500
		lum, cb, cr := rng.Float64()*200+20, rng.Float64()*120+68, rng.Float64()*120+68
		x0, x1 := max(0, int(cx-rx)), min(w, int(cx+rx)+1)
		y0, y1 := max(0, int(cy-ry)), min(h, int(cy+ry)+1)
		for y := y0; y < y1; y++ {
			dy := (float64(y) - cy) / ry
			for x := x0; x < x1; x++ {
				dx := (float64(x) - cx) / rx
				d := dx*dx + dy*dy
				if d >= 1 {
					continue
				}
				k := min(1, (1-d)*8) // soft edge
				p := &img.Y[y*img.YStride+x]
				*p = clamp8(float64(*p)*(1-k) + (lum)*k)
				if x%2 == 0 && y%2 == 0 {
					ci := (y/2)*img.CStride + x/2
					img.Cb[ci] = clamp8(float64(img.Cb[ci])*(1-k) + cb*k)
					img.Cr[ci] = clamp8(float64(img.Cr[ci])*(1-k) + cr*k)
				}
			}
		}
	}
	// Texture (a random offset per 3×3 block, like foliage or fabric) and
	// sensor noise, from a xorshift generator.
	s := rng.Uint64() | 1
	tex := make([]float64, (w+2)/3)
	for y := range h {
		if y%3 == 0 {
			for i := range tex {
				s ^= s << 13
				s ^= s >> 7
				s ^= s << 17
				tex[i] = float64(int(s%17) - 8)
			}
		}
		row := img.Y[y*img.YStride:]
		for x := range w {
			s ^= s << 13
			s ^= s >> 7
			s ^= s << 17
			row[x] = clamp8(float64(row[x]) + tex[x/3] + float64(int(s%13)-6))
		}
	}
	for y := range ch {
		for x := range cw {
			s ^= s << 13
			s ^= s >> 7
			s ^= s << 17
			i := y*img.CStride + x
			img.Cb[i] = clamp8(float64(img.Cb[i]) + float64(int(s%5)-2))
			img.Cr[i] = clamp8(float64(img.Cr[i]) + float64(int(s>>8%5)-2))
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// genTiny writes n 96×96 PNGs into sub-folders of 1000: twenty drawn
// pictures, each file's top-left pixel set to its own number so that every
// file's content (and hash) is distinct.
func genTiny(args []string) error {
	dir, n, err := genFlags("gen-tiny", args)
	if err != nil {
		return err
	}
	classes := tinyshapes.ClassList()
	bases := make([]*image.NRGBA, len(classes))
	for i, c := range classes {
		rng := rand.New(rand.NewPCG(uint64(i), 96))
		img, err := tinyshapes.Render(rng, c.Color, c.Shape, tinyshapes.DrawOptions{Width: 96, Height: 96})
		if err != nil {
			return err
		}
		bases[i] = img
	}
	for i := 0; i < n; i += 1000 {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("%03d", i/1000)), 0o755); err != nil {
			return err
		}
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}}
	return parallel(n, func(i int) error {
		base := bases[i%len(bases)]
		img := image.NewNRGBA(base.Rect)
		copy(img.Pix, base.Pix)
		k := i / len(bases)
		img.Pix[0], img.Pix[1], img.Pix[2] = byte(k>>16), byte(k>>8), byte(k)
		var buf bytes.Buffer
		if err := enc.Encode(&buf, img); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d", i/1000), fmt.Sprintf("t%06d.png", i)), buf.Bytes(), 0o644)
	})
}

// pngPool lets the PNG encoder reuse its compressor across files.
type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }
