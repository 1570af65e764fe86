// Command benchformats measures decode + preprocess time of the same photo
// stored in different formats, for the formats section of BENCHMARKS.md
// (scripts/bench/sections/formats.sh runs it).
//
//	benchformats -rounds 5 photo.jpg photo.heic photo.avif
//
// For each file it reports the first call (which, for HEIC and AVIF,
// includes compiling the WebAssembly decoder) and the median of the
// following rounds, of decode alone and of decode + preprocess (CLIP's
// 224-pixel centre crop, as ingest does it), as Markdown table rows.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gen2brain/avif"

	"github.com/cliprag/cliprag/embed/preprocess"
)

func main() {
	rounds := flag.Int("rounds", 5, "timed rounds per file after the first call")
	flag.Parse()
	p := preprocess.Preprocessor{Size: 224, Mode: preprocess.CenterCrop,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	fmt.Printf("| file | format | size | bytes | first call | decode (median) | decode + preprocess (median) |\n")
	fmt.Printf("| --- | --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, path := range flag.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fail(err)
		}
		t0 := time.Now()
		if _, _, err := p.Bytes(path, data); err != nil {
			fail(err)
		}
		first := time.Since(t0)
		var dec, both []time.Duration
		var info preprocess.Info
		for range *rounds {
			t0 = time.Now()
			_, info, err = preprocess.Decode(path, data, preprocess.DecodeOptions{MinSide: 2 * p.Size})
			if err != nil {
				fail(err)
			}
			dec = append(dec, time.Since(t0))
			t0 = time.Now()
			if _, _, err := p.Bytes(path, data); err != nil {
				fail(err)
			}
			both = append(both, time.Since(t0))
		}
		fmt.Printf("| %s | %s | %d×%d | %d | %s | %s | %s |\n", filepath.Base(path), info.Format, info.Width, info.Height,
			len(data), ms(first), ms(median(dec)), ms(median(both)))
	}
	if err := avif.Dynamic(); err == nil {
		fmt.Println("\nAVIF was decoded by the system's libavif (a shared library was found), not WebAssembly.")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchformats:", err)
	os.Exit(1)
}
