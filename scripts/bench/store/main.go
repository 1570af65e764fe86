// Command store measures cliprag's embedded store (retriever/local) and
// Qdrant on the same vectors: build time, peak RSS while building, memory
// per vector, reopen time, search latency and recall@10 against exact
// search. scripts/bench/sections/store.sh drives it (and the chromem-go
// peer, scripts/bench/peers/chromem, which reads the same data files) and
// renders the store section of BENCHMARKS.md with the report subcommand.
//
// Usage:
//
//	store gen -dir D -kind clustered|random -n N     write a data set (vectors, queries, exact top 10)
//	store local-build -data D -dir S                 fresh process: insert through the store API, BuildIndex
//	store local-search -data D -dir S                fresh process: open read-only, search
//	store qdrant -data D -bin Q -storage S           start Qdrant, insert, wait for its index, search, restart
//	store report -results R                          the Markdown section on stdout
//
// Every measuring subcommand appends one JSON line per measurement to -out.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Result is one measurement.
type Result struct {
	Engine  string             `json:"engine"` // cliprag, qdrant, chromem-go
	Kind    string             `json:"kind"`   // clustered, random
	N       int                `json:"n"`
	Phase   string             `json:"phase"` // build, open, search
	Round   int                `json:"round,omitempty"`
	Metrics map[string]float64 `json:"metrics"`
	Note    string             `json:"note,omitempty"`
	LoadBeg float64            `json:"load_begin"`
	LoadEnd float64            `json:"load_end"`
	Time    time.Time          `json:"time"`
}

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

// emitter appends results to a file.
type emitter struct{ path string }

func (e emitter) emit(r Result) error {
	r.Time = time.Now().UTC()
	r.LoadEnd = loadAvg()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "store: %s\n", b)
	var w io.Writer = os.Stdout
	if e.path != "" && e.path != "-" {
		f, err := os.OpenFile(e.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

var commands = map[string]func(args []string) error{
	"gen":          cmdGen,
	"local-build":  cmdLocalBuild,
	"local-search": cmdLocalSearch,
	"qdrant":       cmdQdrant,
	"report":       cmdReport,
	"proc":         cmdProc,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		fmt.Fprintf(os.Stderr, "usage: store {%s} [flags]\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "store %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
