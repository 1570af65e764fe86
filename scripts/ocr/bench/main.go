// Command bench measures embed/ocr on the images scripts/ocr/gen_images.py
// renders, against Tesseract 5 and the reference JavaScript pipeline
// (@gutenye/ocr-node, run by scripts/ocr/reference.sh), and writes the ocr
// section of BENCHMARKS.md. scripts/bench/sections/ocr.sh runs it:
//
//	bench ours -set DIR -models DIR -out ours.jsonl [-threads 2] [-repeat 3]
//	bench tesseract -set DIR -out tess.jsonl [-threads 2]
//	bench report -set DIR -ours ours.jsonl -tess tess.jsonl -ref ref.jsonl [-commands FILE] > section.md
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench ours|tesseract|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ours":
		err = cmdOurs(os.Args[2:])
	case "tesseract":
		err = cmdTesseract(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// gtLine is one ground-truth line of the manifest.
type gtLine struct {
	Text string       `json:"text"`
	Lang string       `json:"lang"` // "zh" or "en"
	Box  [][2]float64 `json:"box"`
}

// entry is one manifest line.
type entry struct {
	File   string   `json:"file"`
	Kind   string   `json:"kind"`
	Width  int      `json:"width"`
	Height int      `json:"height"`
	Group  string   `json:"group"`
	Lines  []gtLine `json:"lines"`
}

// predLine is a recognised line, from any engine.
type predLine struct {
	Text string       `json:"text"`
	Conf float64      `json:"confidence"`
	Box  [][2]float64 `json:"box"`
}

// result is one engine's output for one image.
type result struct {
	File    string     `json:"file"`
	Lines   []predLine `json:"lines"`
	DetMS   float64    `json:"det_ms,omitempty"`
	ClsMS   float64    `json:"cls_ms,omitempty"`
	RecMS   float64    `json:"rec_ms,omitempty"`
	TotalMS float64    `json:"total_ms"`
	Skipped int        `json:"skipped,omitempty"`
}

func readManifest(dir string) ([]entry, error) {
	var out []entry
	err := readJSONL(filepath.Join(dir, "manifest.jsonl"), func(b []byte) error {
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func readResults(path string) (map[string]result, error) {
	out := map[string]result{}
	err := readJSONL(path, func(b []byte) error {
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		out[r.File] = r
		return nil
	})
	return out, err
}

func readJSONL(path string, f func([]byte) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := f(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

func writeJSONL[T any](path string, rows []T) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fh)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			fh.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
