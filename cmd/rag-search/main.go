// Command rag-search searches and compares images from a terminal with
// cliprag's CLIP models: the four jobs of the scripts cliprag started from,
// plus index statistics and a local web page.
//
//	rag-search search "a diagram of the fault system"    text → images
//	rag-search similar photo.jpg                          image → similar images
//	rag-search text figure.png                            the text in an image (OCR)
//	rag-search classify photo.jpg --labels 构造图,沉积图   zero-shot labels
//	rag-search compare a.jpg b.jpg                        cosine similarity
//	rag-search stats                                      what the index holds
//	rag-search serve                                      web page on 127.0.0.1:8080
//
// search and similar use the index built by rag-ingest (--store), or, with
// --dir FOLDER, a folder that was never indexed: it is encoded on the fly
// into memory. classify and compare need no index. Every command prints an
// aligned table, or JSON with --json; search and similar write a contact
// sheet of the query and its results with --grid FILE.png. Run
// "rag-search help COMMAND" for a command's flags and examples.
//
// The model and store settings (--model, --store, ...) are those of every
// cliprag command: flags, then the environment (CLIPRAG_MODEL,
// CLIPRAG_STORE, ...), then a .env file.
//
// Exit status:
//
//	0    success (also when nothing matched)
//	1    error: the model could not be loaded, a search failed, ...
//	2    bad usage: unknown command or flag, missing or bad argument
//	3    an image file does not exist or cannot be read
//	4    the index cannot be used: empty, missing, built with another
//	     model, or unreachable
//	130  interrupted
//
// Errors are one line on stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cliprag/cliprag/internal/cli"
	"github.com/cliprag/cliprag/internal/config"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitFile        = 3
	exitIndex       = 4
	exitInterrupted = 130
)

var version = "dev"

func main() {
	ctx, stop := cli.SignalContext(context.Background(), "rag-search", os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // argument synopsis
	summary string
	about   string // longer description and examples
	setup   setup  // registers the flags, returns the body
	run     func(ctx context.Context, e *env, args []string) error
}

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
}

var commands []*command

func init() {
	commands = []*command{searchCmd, similarCmd, textCmd, classifyCmd, compareCmd, statsCmd, serveCmd}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run runs rag-search with args (without the program name) and returns the
// exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "rag-search: unknown command %q (commands: search, similar, text, classify, compare, stats, serve)\n", args[1])
				return exitUsage
			}
			c.usage(stdout)
			return exitOK
		}
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, "rag-search", version)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		if len(args[0]) > 0 && args[0][0] == '-' {
			fmt.Fprintf(stderr, "rag-search: put the command first, then its flags: rag-search search [flags] QUERY (see rag-search help)\n")
		} else {
			fmt.Fprintf(stderr, "rag-search: unknown command %q (commands: search, similar, text, classify, compare, stats, serve; see rag-search help)\n", args[0])
		}
		return exitUsage
	}
	err := c.run(ctx, e, args[1:])
	return report(ctx, stderr, err)
}

// report prints err on one line (a missing model in a few, see
// config.ExplainError) and returns the exit status for it.
func report(ctx context.Context, stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if errors.Is(err, errUsageShown) {
		return exitUsage
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "rag-search: interrupted")
		return exitInterrupted
	}
	if text, ok := config.ExplainError(err); ok {
		fmt.Fprintln(stderr, "rag-search: "+text)
	} else {
		fmt.Fprintln(stderr, "rag-search: "+oneLine(err.Error()))
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

// codeError is an error with its exit status.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &codeError{exitUsage, fmt.Errorf(format, args...)}
}

func fileErr(format string, args ...any) error {
	return &codeError{exitFile, fmt.Errorf(format, args...)}
}

func indexErr(err error) error { return &codeError{exitIndex, err} }

// errHelp: help was printed; errUsageShown: the flag package already
// printed the problem and usage.
var (
	errHelp       = errors.New("help shown")
	errUsageShown = errors.New("usage shown")
)

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: rag-search COMMAND [flags] ARGS

Search and compare images with CLIP.

Commands:
`)
	t := &table{}
	for _, c := range commands {
		t.add("  "+c.name+" "+c.args, c.summary)
	}
	_ = t.write(w)
	fmt.Fprint(w, `
search and similar use the index built by rag-ingest (--store), or a folder
that was never indexed (--dir FOLDER). classify and compare need no index.

Examples:
  rag-ingest ./photos
  rag-search search "a cat on a sofa"
  rag-search search --dir ./photos --top-k 8 --grid sheet.png "a red car"
  rag-search similar ./photos/cat.jpg
  rag-search text ./reports/figure-3.png
  rag-search classify ./photos/map.png --labels 断裂体系叠合图,构造图,沉积图,顶面构造图
  rag-search compare a.jpg b.jpg
  rag-search serve                  then open http://127.0.0.1:8080/

Run "rag-search help COMMAND" for a command's flags.

Exit status: 0 ok, 1 error, 2 usage, 3 image file missing or unreadable,
4 index empty, missing, unreachable or built with another model, 130 interrupted.
`)
}
