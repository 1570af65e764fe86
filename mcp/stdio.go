package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves one client over stdin and stdout (newline-delimited
// JSON-RPC) until ctx is done or stdin ends. At the end of stdin the calls
// in flight are finished and their responses written before it returns
// (bounded by the tool timeout), so `rag-mcp < requests.jsonl` answers
// every request.
func (s *Server) ServeStdio(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	d := &drain{pending: map[string]int{}, changed: make(chan struct{}, 1)}
	out := &lineWriter{w: stdout, d: d}
	in := &lineReader{r: stdin, d: d, ctx: ctx, maxWait: s.h.svc.Options().Timeout + 10*time.Second}
	st := server.NewStdioServer(s.srv)
	st.SetErrorLogger(log.New(slogWriter{s.opts.Logger}, "", 0))
	st.SetContextFunc(func(ctx context.Context) context.Context { return context.WithValue(ctx, directKey{}, out) })
	err := st.Listen(ctx, in, out)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// slogWriter writes the stdio transport's log lines to the server's log.
type slogWriter struct {
	l interface{ Warn(string, ...any) }
}

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("stdio: " + string(bytes.TrimSpace(p)))
	return len(p), nil
}

// drain counts the requests read whose responses are not written yet.
type drain struct {
	mu      sync.Mutex
	pending map[string]int // by JSON-RPC id
	changed chan struct{}  // signalled when a response is written
}

func (d *drain) add(id string, n int) {
	d.mu.Lock()
	d.pending[id] += n
	if d.pending[id] <= 0 {
		delete(d.pending, id)
	}
	d.mu.Unlock()
	if n < 0 {
		select {
		case d.changed <- struct{}{}:
		default:
		}
	}
}

func (d *drain) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) == 0
}

// envelope is the part of a JSON-RPC message the drain looks at.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// lineReader passes stdin through, noting the requests it carries. At the
// end of input it waits until every request has been answered (or maxWait
// passes, or ctx ends) before reporting EOF, because the transport cancels
// the calls in flight when its input ends.
type lineReader struct {
	r       io.Reader
	d       *drain
	ctx     context.Context
	maxWait time.Duration
	partial []byte
}

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.scan(p[:n])
	if errors.Is(err, io.EOF) {
		if len(l.partial) > 0 {
			l.note(l.partial)
			l.partial = nil
		}
		if n > 0 {
			return n, nil // deliver the data first; EOF comes on the next read
		}
		l.wait()
	}
	return n, err
}

func (l *lineReader) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.partial = append(l.partial, b...)
			return
		}
		line := b[:i]
		if len(l.partial) > 0 {
			line = append(l.partial, line...)
			l.partial = nil
		}
		l.note(line)
		b = b[i+1:]
	}
}

// note counts a request (method and id), and forgets one the client cancelled.
func (l *lineReader) note(line []byte) {
	var e envelope
	if json.Unmarshal(line, &e) != nil || e.Method == "" {
		return
	}
	if e.Method == "notifications/cancelled" && len(e.Params.RequestID) > 0 {
		l.d.add(idKey(e.Params.RequestID), -1)
		return
	}
	if len(e.ID) > 0 && string(e.ID) != "null" {
		l.d.add(idKey(e.ID), 1)
	}
}

func (l *lineReader) wait() {
	deadline := time.NewTimer(l.maxWait)
	defer deadline.Stop()
	for !l.d.idle() {
		select {
		case <-l.d.changed:
		case <-deadline.C:
			return
		case <-l.ctx.Done():
			return
		}
	}
}

// idKey normalises a JSON-RPC id for matching requests with responses.
func idKey(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// lineWriter writes whole messages to stdout, one at a time, and tells the
// drain which requests were answered.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
	d  *drain
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.w.Write(p)
	l.mu.Unlock()
	var e envelope
	if json.Unmarshal(bytes.TrimSpace(p), &e) == nil && e.Method == "" && len(e.ID) > 0 && string(e.ID) != "null" {
		l.d.add(idKey(e.ID), -1)
	}
	return n, err
}

// writeLine writes one message and a newline.
func (l *lineWriter) writeLine(b []byte) error {
	_, err := l.Write(append(b, '\n'))
	return err
}
