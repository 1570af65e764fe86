package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// directKey carries the stdio transport's writer: notifications written
// through it go out in order with the responses (the transport's own
// notification queue is drained by another goroutine, so a final progress
// notification could otherwise trail the response it belongs to).
type directKey struct{}

// notify sends a notification to the client the request came from.
func (h *handlers) notify(ctx context.Context, method string, params map[string]any) error {
	if w, ok := ctx.Value(directKey{}).(*lineWriter); ok {
		b, err := json.Marshal(mcpgo.JSONRPCNotification{JSONRPC: mcpgo.JSONRPC_VERSION,
			Notification: mcpgo.Notification{Method: method, Params: mcpgo.NotificationParams{AdditionalFields: params}}})
		if err != nil {
			return err
		}
		return w.writeLine(b)
	}
	return h.srv.SendNotificationToClient(ctx, method, params)
}

// progress sends notifications/progress for one call: whenever the work
// advances, at least once a second while it runs, and once at the end.
// Progress counts files for ingest_images and is 0 → 1 for the other
// tools; while nothing completes, heartbeats add a fraction that halves
// each time, so that the value increases with every notification as the
// specification requires, and stays below the next whole unit.
type progress struct {
	h     *handlers
	ctx   context.Context
	token mcpgo.ProgressToken
	quit  chan struct{}
	wg    sync.WaitGroup

	mu          sync.Mutex
	done, total int
	sent        float64 // last value sent; -1 before the first
	beats       int     // heartbeats since done last changed
	last        time.Time
}

// progressTick is how often progress checks for news; heartbeatAfter is
// how long it stays silent when there is none: together under a second.
const (
	progressTick   = 250 * time.Millisecond
	heartbeatAfter = 700 * time.Millisecond
)

func (h *handlers) startProgress(ctx context.Context, token mcpgo.ProgressToken) *progress {
	p := &progress{h: h, ctx: ctx, token: token, quit: make(chan struct{}), sent: -1, last: time.Now()}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

// files records ingest progress: done of total files.
func (p *progress) files(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done != p.done {
		p.beats = 0
	}
	p.done, p.total = done, total
}

func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := float64(p.done)
	if v <= p.sent {
		if time.Since(p.last) < heartbeatAfter {
			return
		}
		p.beats++
		v += 1 - math.Pow(0.5, float64(p.beats))
	}
	p.sendLocked(v, float64(p.total), p.message())
}

// finalPause separates the final progress notification from the response.
// The TypeScript SDK hands notifications to their handlers a microtask
// later but takes responses at once, and drops progress for a request that
// has been answered: a notification read in the same chunk as its response
// would be lost.
const finalPause = 25 * time.Millisecond

// finish sends the final notification and stops the ticker.
func (p *progress) finish() {
	close(p.quit)
	p.wg.Wait()
	p.mu.Lock()
	v := float64(max(p.done, p.total, 1))
	if v <= p.sent {
		v = math.Floor(p.sent) + 1
	}
	p.sendLocked(v, v, "done")
	p.mu.Unlock()
	time.Sleep(finalPause)
}

func (p *progress) message() string {
	if p.total > 0 {
		return fmt.Sprintf("%d of %d files", p.done, p.total)
	}
	return "working"
}

func (p *progress) sendLocked(v, total float64, msg string) {
	params := map[string]any{"progressToken": p.token, "progress": v, "message": msg}
	if total > 0 {
		params["total"] = total
	}
	if err := p.h.notify(p.ctx, string(mcpgo.MethodNotificationProgress), params); err != nil {
		p.h.opts.Logger.Debug("progress notification not sent", "err", err)
	}
	p.sent, p.last = v, time.Now()
}

// clientLogHandler logs to the server's log and forwards each record to the
// client the request came from, as notifications/message at the level the
// client set with logging/setLevel (error unless it set one).
type clientLogHandler struct {
	next  slog.Handler
	h     *handlers // set once the handlers exist
	attrs []slog.Attr
}

func (c *clientLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return c.next.Enabled(ctx, l) || server.ClientSessionFromContext(ctx) != nil
}

func (c *clientLogHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if c.next.Enabled(ctx, r.Level) {
		err = c.next.Handle(ctx, r)
	}
	if c.h != nil && server.ClientSessionFromContext(ctx) != nil {
		c.toClient(ctx, r)
	}
	return err
}

func (c *clientLogHandler) toClient(ctx context.Context, r slog.Record) {
	level := mcpgo.LoggingLevelDebug
	switch {
	case r.Level >= slog.LevelError:
		level = mcpgo.LoggingLevelError
	case r.Level >= slog.LevelWarn:
		level = mcpgo.LoggingLevelWarning
	case r.Level >= slog.LevelInfo:
		level = mcpgo.LoggingLevelInfo
	}
	data := map[string]any{"message": r.Message}
	add := func(a slog.Attr) bool {
		data[a.Key] = a.Value.Resolve().String()
		return true
	}
	for _, a := range c.attrs {
		add(a)
	}
	r.Attrs(add)
	if _, direct := ctx.Value(directKey{}).(*lineWriter); direct {
		ls, ok := server.ClientSessionFromContext(ctx).(server.SessionWithLogging)
		if !ok || !level.ShouldSendTo(ls.GetLogLevel()) {
			return
		}
		_ = c.h.notify(ctx, string(mcpgo.MethodNotificationMessage), map[string]any{"level": level, "logger": "cliprag", "data": data})
		return
	}
	_ = c.h.srv.SendLogMessageToClient(ctx, mcpgo.NewLoggingMessageNotification(level, "cliprag", data))
}

func (c *clientLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &clientLogHandler{next: c.next.WithAttrs(as), h: c.h, attrs: append(append([]slog.Attr(nil), c.attrs...), as...)}
}

func (c *clientLogHandler) WithGroup(name string) slog.Handler {
	return &clientLogHandler{next: c.next.WithGroup(name), h: c.h, attrs: c.attrs}
}
