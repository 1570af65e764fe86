package faults

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/tools/toolstest"
)

// bin is the folder of the commands built for the suite.
var bin string

// TestMain builds the commands, unless CLIPRAG_FAULTS_BIN names a folder
// that holds them already (to run the suite against another build).
func TestMain(m *testing.M) {
	if dir := os.Getenv("CLIPRAG_FAULTS_BIN"); dir != "" {
		bin = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "cliprag-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/rag-ingest", "../../cmd/rag-search", "../../cmd/rag-mcp")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the commands:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is how a command ended.
type result struct {
	code   int
	stdout string
	stderr string
	maxRSS int64 // peak resident memory in bytes (getrusage)
	signal syscall.Signal
}

// limit is how long any command of the suite may run: far above what each
// needs, it only turns a hang into a failure.
const limit = 3 * time.Minute

// command returns a command of the suite with the tiny model.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), "CLIPRAG_MODEL=tiny-shapes")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a command to its end and returns how it ended, skipping the
// test when ONNX Runtime is missing (failing under CI).
func run(t *testing.T, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not end within %s (killed)\nstderr: %s", name, args, limit, stderr.String())
	}
	r := ended(t, cmd, err)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if r.code != 0 && toolstest.RuntimeMissing(r.stderr) {
		t.Skipf("ONNX Runtime not available: %s", r.stderr)
	}
	return r
}

// ended reads a finished command's status and peak memory.
func ended(t *testing.T, cmd *exec.Cmd, err error) result {
	t.Helper()
	var r result
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	st := cmd.ProcessState
	r.code = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signal = ws.Signal()
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10 // kilobytes on Linux
	}
	return r
}

// summary is rag-ingest's --json output.
type summary struct {
	Found, Indexed, Updated, Skipped, Duplicates int
	Failed                                       []struct{ Path, Reason string }
	Error                                        string
}

func ingestJSON(t *testing.T, store string, args ...string) (summary, result) {
	t.Helper()
	r := run(t, nil, "rag-ingest", append([]string{"-store", store, "-quiet", "-json"}, args...)...)
	var s summary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("rag-ingest %q: exit %d, output is not JSON: %v\nstdout: %s\nstderr: %s", args, r.code, err, r.stdout, r.stderr)
	}
	return s, r
}

// writePNG writes a w×h PNG of bit depth depth and PNG colour type ctype
// (0 grey, 2 RGB, 6 RGBA) whose rows all hold the same pixels, streaming
// it so that even a 100-megapixel image takes almost no memory to write
// and compresses to well under a megabyte.
func writePNG(t *testing.T, path string, w, h int, depth, ctype byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ctype
	pngChunk(bw, "IHDR", ihdr)
	channels := map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[ctype]
	row := make([]byte, 1+w*channels*int(depth)/8)
	for i := 1; i < len(row); i++ {
		row[i] = byte(0x40 + i%3*0x30)
	}
	idat := bufio.NewWriterSize(chunkWriter{bw}, 1<<16)
	z, err := zlib.NewWriterLevel(idat, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	for range h {
		z.Write(row)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	idat.Flush()
	pngChunk(bw, "IEND", nil)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

func pngChunk(w io.Writer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	c := crc32.NewIEEE()
	io.WriteString(c, typ)
	c.Write(data)
	io.WriteString(w, typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], c.Sum32())
	w.Write(n[:])
}

type chunkWriter struct{ w io.Writer }

func (c chunkWriter) Write(p []byte) (int, error) { pngChunk(c.w, "IDAT", p); return len(p), nil }

// mcpClient speaks MCP (JSON-RPC over stdio) to a rag-mcp process.
type mcpClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *lockedWriter
	mu     sync.Mutex
	next   int
	wait   map[int]chan json.RawMessage
	done   chan struct{}
}

// startMCP starts rag-mcp with args and initializes a session.
func startMCP(t *testing.T, args ...string) *mcpClient {
	t.Helper()
	cmd := command(context.Background(), "rag-mcp", args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &mcpClient{t: t, cmd: cmd, in: in, stderr: &lockedWriter{}, wait: map[int]chan json.RawMessage{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-c.done })
	go c.read(out)
	_, err = c.call("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "faults", "version": "1"},
	})
	if err != nil {
		if toolstest.RuntimeMissing(c.stderr.String()) {
			t.Skipf("ONNX Runtime not available: %s", c.stderr.String())
		}
		t.Fatalf("initialize: %v\nstderr: %s", err, c.stderr.String())
	}
	c.send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return c
}

// lockedWriter is a buffer a process writes to while a test reads it.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (c *mcpClient) read(out io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var msg struct {
			ID     *int            `json:"id"`
			Method string          `json:"method"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil || msg.ID == nil || msg.Method != "" {
			continue // notifications (progress, logs) and server requests
		}
		c.mu.Lock()
		ch := c.wait[*msg.ID]
		delete(c.wait, *msg.ID)
		c.mu.Unlock()
		if ch != nil {
			if msg.Error != nil {
				ch <- append(json.RawMessage(`{"rpcError":`), append(msg.Error, '}')...)
			} else {
				ch <- msg.Result
			}
		}
	}
}

func (c *mcpClient) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in.Write(append(b, '\n'))
}

// call sends a request and waits for its response (or the process's end).
func (c *mcpClient) call(method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	select {
	case r := <-ch:
		if bytes.HasPrefix(r, []byte(`{"rpcError":`)) {
			return nil, fmt.Errorf("%s: %s", method, r)
		}
		return r, nil
	case <-c.done:
		return nil, fmt.Errorf("%s: rag-mcp exited", method)
	case <-time.After(limit):
		return nil, fmt.Errorf("%s: no answer within %s", method, limit)
	}
}

// tool calls a tool and returns its text and whether it is an error result.
func (c *mcpClient) tool(name string, args map[string]any) (text string, isError bool, err error) {
	raw, err := c.call("tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", false, err
	}
	var res struct {
		Content []struct{ Type, Text string }
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return "", false, err
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if ct.Type == "text" {
			b.WriteString(ct.Text)
		}
	}
	return b.String(), res.IsError, nil
}

// close ends the session (stdin closed) and returns how rag-mcp ended.
func (c *mcpClient) close() result {
	c.t.Helper()
	c.in.Close()
	select {
	case <-c.done:
	case <-time.After(limit):
		c.t.Fatal("rag-mcp did not exit after its input closed")
	}
	err := c.cmd.Wait()
	r := ended(c.t, c.cmd, err)
	r.stderr = c.stderr.String()
	return r
}
