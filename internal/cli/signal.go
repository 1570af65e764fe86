// Package cli holds what cliprag's commands (rag-ingest, rag-search,
// rag-mcp) share about running at a terminal: how they stop on a signal.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Grace is how long a command may take to stop after SIGINT or SIGTERM
// before it is made to exit: the context is cancelled at once, so work in
// flight winds down (ingest writes what it embedded, servers close their
// connections), and whatever is still running after Grace (a model load,
// a call stuck in the kernel) is cut short. A second signal exits at
// once. The stores are crash-safe, so a forced exit loses nothing
// committed.
const Grace = 1500 * time.Millisecond

// SignalContext returns a context that is cancelled on the first SIGINT
// or SIGTERM. The process then exits with status 128+signal (130 for
// Ctrl-C) on a second signal, or once Grace has passed, saying so on
// stderr as name ("rag-ingest: ..."). stop releases the signals; call it
// when the command is done.
func SignalContext(parent context.Context, name string, stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first os.Signal
		select {
		case first = <-sigs:
		case <-done:
			return
		}
		cancel()
		timer := time.NewTimer(Grace)
		defer timer.Stop()
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "%s: %s again: exiting now\n", name, sigName(s))
			os.Exit(ExitCode(s))
		case <-timer.C:
			fmt.Fprintf(stderr, "%s: %s, still stopping after %s: exiting now\n", name, sigName(first), Grace)
			os.Exit(ExitCode(first))
		case <-done:
		}
	}()
	var once bool
	return ctx, func() {
		if once {
			return
		}
		once = true
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// ExitCode is the conventional exit status of a process ended by s: 128
// plus the signal number (130 for SIGINT, 143 for SIGTERM).
func ExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

func sigName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "interrupted"
	case syscall.SIGTERM:
		return "terminated"
	}
	return s.String()
}
