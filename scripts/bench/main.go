// Command bench measures the ingest pipeline: decode+preprocess alone, the
// model alone, and end-to-end ingest, plus peak memory of large runs. It is
// driven by scripts/bench.sh, which builds it with and without the libjpeg
// tag, appends each measurement as one JSON line to a results file and then
// renders BENCHMARKS.md from that file with the report subcommand.
//
// Usage:
//
//	bench gen-small  -dir D -n N        drawn tiny-shapes images, ~300 px, PNG and JPEG
//	bench gen-big    -dir D -n N        4000×3000 photo-like JPEGs (distinct bytes)
//	bench gen-photos -dir D -n N        distinct photo-like JPEGs of 1–3 MP
//	bench gen-tiny   -dir D -n N        96 px PNGs, one pixel differs per file
//	bench decode     -dir D [-label L]  worker pool: read + sha256 + Preprocessor.Bytes
//	bench jpeg12mp   -file F            ms per 12 MP JPEG: image/jpeg vs Preprocessor.Bytes
//	bench model      -model M           EmbedPixels at batch 1 and 16
//	bench ingest     -model M -dir D    ingest.Run into a fresh local store
//	bench report     -results R         BENCHMARKS.md's ingest section on stdout
//	bench peers-report -results R       its peers section (peer lines from scripts/bench/peers)
//
// Every measuring subcommand appends JSON lines to -out (default stdout).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/preprocess"
)

// Result is one measurement, one JSON line in the results file.
type Result struct {
	Kind    string             `json:"kind"`              // decode, jpeg12mp, model, ingest, peer
	Peer    string             `json:"peer,omitempty"`    // kind peer: transformers.js, pytorch-dataloader, pytorch-single
	Version string             `json:"version,omitempty"` // kind peer: the peer's software
	Device  string             `json:"device,omitempty"`  // kind model: the inference device when not the CPU
	Build   string             `json:"build"`             // default or libjpeg
	Model   string             `json:"model,omitempty"`
	Data    string             `json:"data,omitempty"` // dataset label
	Files   int                `json:"files,omitempty"`
	Batch   int                `json:"batch,omitempty"`
	Workers int                `json:"workers,omitempty"`
	Images  int                `json:"images,omitempty"` // images processed in the timed part
	Seconds float64            `json:"seconds,omitempty"`
	PerSec  float64            `json:"images_per_sec,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Round   int                `json:"round,omitempty"` // the round of a multi-round section (peers)
	LoadBeg float64            `json:"load_begin"`      // 1-minute load average before
	LoadEnd float64            `json:"load_end"`        // and after
	Time    time.Time          `json:"time"`
}

// build names the JPEG decoder this binary uses: "libjpeg" (linked,
// -tags libjpeg), "default" (plain build; libturbojpeg loaded at run time)
// or "default-go" (plain build decoding with image/jpeg: no libturbojpeg,
// or BENCH_JPEG=go).
func build() string {
	switch {
	case strings.Contains(preprocess.JPEGDecoder(), "cgo"):
		return "libjpeg"
	case preprocess.ScaledJPEG():
		return "default"
	}
	return "default-go"
}

// loadAvg returns the 1-minute load average, or -1 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

// emit appends r to w as one JSON line and echoes a short summary to stderr.
func emit(w io.Writer, r Result) error {
	r.Build = build()
	r.Time = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: %s\n", b)
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// output opens the results file for appending, or stdout for "-".
func output(path string) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return os.Stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open results %s: %w", path, err)
	}
	return f, f.Close, nil
}

var commands = map[string]func(args []string) error{
	"gen-small":    genSmall,
	"gen-big":      genBig,
	"gen-photos":   genPhotos,
	"gen-tiny":     genTiny,
	"decode":       cmdDecode,
	"jpeg12mp":     cmdJPEG12MP,
	"model":        cmdModel,
	"ingest":       cmdIngest,
	"report":       cmdReport,
	"peers-report": cmdPeersReport,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		fmt.Fprintf(os.Stderr, "usage: bench {%s} [flags]\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	if os.Getenv("BENCH_JPEG") == "go" {
		preprocess.SetSystemJPEG(false)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// cores is the number of CPUs Go schedules on.
func cores() int { return runtime.GOMAXPROCS(0) }
