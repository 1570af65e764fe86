package bigpng

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"fmt"
	"time"

	"github.com/cliprag/cliprag/embed/preprocess"
)

func chunk(w io.Writer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	c := crc32.NewIEEE()
	c.Write([]byte(typ))
	c.Write(data)
	w.Write([]byte(typ))
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], c.Sum32())
	w.Write(n[:])
}

type chunkWriter struct{ w io.Writer }

func (c chunkWriter) Write(p []byte) (int, error) { chunk(c.w, "IDAT", p); return len(p), nil }

func write(path string, w, h int, depth, ctype byte) {
	f, _ := os.Create(path)
	defer f.Close()
	bw := bufio.NewWriter(f)
	defer bw.Flush()
	bw.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ctype
	chunk(bw, "IHDR", ihdr)
	ch := map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[ctype]
	row := make([]byte, 1+w*ch*int(depth)/8)
	for i := 1; i < len(row); i++ { row[i] = byte(i * 7) }
	cw := bufio.NewWriterSize(chunkWriter{bw}, 1<<16)
	z, _ := zlib.NewWriterLevel(cw, zlib.BestSpeed)
	for y := 0; y < h; y++ { z.Write(row) }
	z.Close()
	cw.Flush()
	chunk(bw, "IEND", nil)
}

func hwm() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM") { return l }
	}
	return ""
}

func TestMeasure(t *testing.T) {
	ctype := map[string]byte{"rgb": 2, "grey": 0, "rgba": 6}[os.Getenv("CT")]
	n := 1
	fmt.Sscan(os.Getenv("N"), &n)
	p := "/tmp/bigpng/big-" + os.Getenv("CT") + ".png"
	if _, err := os.Stat(p); err != nil { write(p, 10000, 10000, 16, ctype) }
	data, _ := os.ReadFile(p)
	t.Logf("file %d bytes; before %s", len(data), hwm())
	pp := preprocess.Preprocessor{Size: 224, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Go(func() {
			_, _, err := pp.Bytes("big.png", data)
			if err != nil { t.Log(err) }
		})
	}
	wg.Wait()
	t.Logf("%d concurrent: %s in %s", n, hwm(), time.Since(start))
}
