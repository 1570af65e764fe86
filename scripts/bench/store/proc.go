package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// cmdProc runs a command (rag-ingest) and reports its wall time and peak
// RSS (the kernel's ru_maxrss of the child), with the numbers of its JSON
// summary on stdout.
func cmdProc(args []string) error {
	fs := flag.NewFlagSet("proc", flag.ContinueOnError)
	label := fs.String("label", "", "label for the report")
	pass := fs.String("pass", "", "first or unchanged")
	out := fs.String("out", "-", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	r := Result{Engine: "rag-ingest", Kind: *label, Phase: *pass, LoadBeg: loadAvg()}
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return check(err, argv[0])
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.Metrics = map[string]float64{"wall_s": wall.Seconds(), "user_s": cmd.ProcessState.UserTime().Seconds(),
		"sys_s": cmd.ProcessState.SystemTime().Seconds()}
	if ru != nil {
		r.Metrics["maxrss"] = float64(ru.Maxrss) * 1024
	}
	var sum map[string]any
	if json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &sum) == nil {
		for k, v := range sum {
			if f, ok := v.(float64); ok {
				r.Metrics["summary_"+k] = f
			}
		}
	}
	r.Note = string(bytes.TrimSpace(stdout.Bytes()))
	if len(r.Note) > 400 {
		r.Note = r.Note[:400]
	}
	return emitter{*out}.emit(r)
}
