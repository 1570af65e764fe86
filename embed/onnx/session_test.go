package onnx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// initRuntime loads the ONNX Runtime library for a test: from
// ONNXRUNTIME_LIB (the tests' own configuration), the system paths or the
// cache, never downloading. Without a library the test is skipped, or fails
// when CI=true.
func initRuntime(t testing.TB) {
	t.Helper()
	if err := Init(context.Background(), LibraryOptions{Path: os.Getenv(EnvLibrary), Offline: true}); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime library needed (set %s): %v", EnvLibrary, err)
		}
		t.Skipf("no ONNX Runtime library (set %s): %v", EnvLibrary, err)
	}
}

// matmulW is the weight of testdata/matmul.onnx, as scripts/make_onnx_fixtures.py builds it.
func matmulW(i, j int) float32 { return float32(i*3+j+1) / 10 }

func matmulRef(x []float32, batch int) (y, s []float32) {
	y = make([]float32, batch*3)
	s = make([]float32, batch)
	for b := range batch {
		for j := range 3 {
			var acc float32
			for i := range 4 {
				acc += x[b*4+i] * matmulW(i, j)
			}
			y[b*3+j] = acc
		}
		for i := range 4 {
			s[b] += x[b*4+i]
		}
	}
	return y, s
}

func openMatmul(t testing.TB, fromBytes bool, o SessionOptions) *Session {
	t.Helper()
	path := filepath.Join("testdata", "matmul.onnx")
	var s *Session
	var err error
	if fromBytes {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		s, err = NewSessionFromBytes(data, o)
	} else {
		s, err = NewSessionFromFile(path, o)
	}
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func closeTo(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestSessionInfo(t *testing.T) {
	initRuntime(t)
	for _, fromBytes := range []bool{false, true} {
		s := openMatmul(t, fromBytes, SessionOptions{Threads: 1})
		in, out := s.Inputs(), s.Outputs()
		if len(in) != 1 || in[0].Name != "x" || in[0].Type != "float32" || len(in[0].Shape) != 2 || in[0].Shape[0] != -1 || in[0].Shape[1] != 4 {
			t.Errorf("bytes=%v inputs = %+v, want x float32 [-1 4]", fromBytes, in)
		}
		if len(out) != 2 || out[0].Name != "y" || out[0].Type != "float32" || out[1].Name != "s" {
			t.Errorf("bytes=%v outputs = %+v, want y, s float32", fromBytes, out)
		}
		if s.Device() != "cpu" {
			t.Errorf("device = %q, want cpu", s.Device())
		}
	}
	e, err := NewSessionFromFile(filepath.Join("testdata", "embed.onnx"), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if in := e.Inputs(); len(in) != 1 || in[0].Name != "ids" || in[0].Type != "int64" {
		t.Errorf("embed inputs = %+v, want ids int64", in)
	}
}

func TestRunMatmul(t *testing.T) {
	initRuntime(t)
	tests := []struct {
		name      string
		fromBytes bool
		batch     int
		outputs   []string
	}{
		{"file batch1 all outputs", false, 1, nil},
		{"file batch3 y", false, 3, []string{"y"}},
		{"bytes batch5 s", true, 5, []string{"s"}},
		{"bytes batch2 both", true, 2, []string{"s", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openMatmul(t, tc.fromBytes, SessionOptions{Threads: 1})
			x := make([]float32, tc.batch*4)
			for i := range x {
				x[i] = float32(i%7) - 2.5 + float32(i)/10
			}
			got, err := s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{int64(tc.batch), 4}, Float32: x}}, tc.outputs)
			if err != nil {
				t.Fatal(err)
			}
			wantY, wantS := matmulRef(x, tc.batch)
			want := map[string][]float32{"y": wantY, "s": wantS}
			names := tc.outputs
			if names == nil {
				names = []string{"y", "s"}
			}
			if len(got) != len(names) {
				t.Errorf("got %d outputs, want %d", len(got), len(names))
			}
			for _, n := range names {
				if !closeTo(got[n].Float32, want[n], 1e-5) {
					t.Errorf("%s = %v, want %v", n, got[n].Float32, want[n])
				}
			}
			if y, ok := got["y"]; ok && (len(y.Shape) != 2 || y.Shape[0] != int64(tc.batch) || y.Shape[1] != 3) {
				t.Errorf("y shape %v, want [%d 3]", y.Shape, tc.batch)
			}
		})
	}
}

func TestRunInt64(t *testing.T) {
	initRuntime(t)
	s, err := NewSessionFromFile(filepath.Join("testdata", "embed.onnx"), SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ids := []int64{0, 3, 9, 12, -4, 7}
	got, err := s.Run(context.Background(), map[string]Tensor{"ids": {Shape: []int64{2, 3}, Int64: ids}}, []string{"out"})
	if err != nil {
		t.Fatal(err)
	}
	out := got["out"]
	var want []float32
	for _, id := range ids {
		k := float32(min(max(id, 0), 9))
		want = append(want, k, -2*k)
	}
	if !closeTo(out.Float32, want, 0) {
		t.Errorf("out = %v, want %v", out.Float32, want)
	}
	if len(out.Shape) != 3 || out.Shape[0] != 2 || out.Shape[1] != 3 || out.Shape[2] != 2 {
		t.Errorf("out shape %v, want [2 3 2]", out.Shape)
	}
}

func TestRunErrors(t *testing.T) {
	initRuntime(t)
	s := openMatmul(t, false, SessionOptions{Threads: 1})
	x := []float32{1, 2, 3, 4}
	tests := []struct {
		name    string
		inputs  map[string]Tensor
		outputs []string
		want    string
	}{
		{"missing input", map[string]Tensor{}, nil, `missing input "x"`},
		{"unknown input", map[string]Tensor{"x": {Shape: []int64{1, 4}, Float32: x}, "z": {Shape: []int64{1}, Float32: []float32{1}}}, nil, `no input "z"`},
		{"unknown output", map[string]Tensor{"x": {Shape: []int64{1, 4}, Float32: x}}, []string{"nope"}, `no output "nope"`},
		{"wrong type", map[string]Tensor{"x": {Shape: []int64{1, 4}, Int64: []int64{1, 2, 3, 4}}}, nil, "model wants float32"},
		{"wrong size", map[string]Tensor{"x": {Shape: []int64{2, 4}, Float32: x}}, nil, "needs 8 values"},
		{"wrong dim", map[string]Tensor{"x": {Shape: []int64{2, 2}, Float32: x}}, nil, "does not match model shape"},
		{"wrong rank", map[string]Tensor{"x": {Shape: []int64{4}, Float32: x}}, nil, "rank 1"},
		{"no data", map[string]Tensor{"x": {Shape: []int64{1, 4}}}, nil, "exactly one of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), tc.inputs, tc.outputs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "matmul.onnx") {
				t.Errorf("err = %v, want the model path in it", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, map[string]Tensor{"x": {Shape: []int64{1, 4}, Float32: x}}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: err = %v, want context.Canceled", err)
	}
}

func TestOpenErrors(t *testing.T) {
	initRuntime(t)
	tests := []struct {
		name string
		open func() (*Session, error)
		want string
	}{
		{"missing file", func() (*Session, error) {
			return NewSessionFromFile(filepath.Join("testdata", "nope.onnx"), SessionOptions{})
		}, "nope.onnx"},
		{"not a model", func() (*Session, error) {
			return NewSessionFromFile(filepath.Join("testdata", "..", "onnx.go"), SessionOptions{})
		}, "onnx.go"},
		{"empty bytes", func() (*Session, error) { return NewSessionFromBytes(nil, SessionOptions{}) }, "empty model"},
		{"garbage bytes", func() (*Session, error) { return NewSessionFromBytes([]byte("not onnx"), SessionOptions{}) }, "in-memory model"},
		{"bad device", func() (*Session, error) {
			return NewSessionFromFile(filepath.Join("testdata", "matmul.onnx"), SessionOptions{Device: "tpu"})
		}, `unknown device "tpu"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.open()
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConcurrentRun(t *testing.T) {
	initRuntime(t)
	s := openMatmul(t, false, SessionOptions{Threads: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 25 {
				batch := 1 + (g+it)%4
				x := make([]float32, batch*4)
				for i := range x {
					x[i] = float32(g*100+it) + float32(i)
				}
				got, err := s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{int64(batch), 4}, Float32: x}}, []string{"y"})
				if err != nil {
					errs <- err
					return
				}
				want, _ := matmulRef(x, batch)
				if !closeTo(got["y"].Float32, want, 1e-3) {
					errs <- errors.New("concurrent run: wrong result")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseWaitsAndRejects(t *testing.T) {
	initRuntime(t)
	s, err := NewSessionFromFile(filepath.Join("testdata", "matmul.onnx"), SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{1, 4}, Float32: make([]float32, 4)}}, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("run after close: err = %v, want closed", err)
	}
}

func TestCUDAFallback(t *testing.T) {
	initRuntime(t)
	var log bytes.Buffer
	s := openMatmul(t, false, SessionOptions{Device: "cuda", Log: &log})
	if s.Device() == "cuda" {
		t.Skip("CUDA execution provider available here; fallback not exercised")
	}
	if s.Device() != "cpu" {
		t.Errorf("device = %q, want cpu", s.Device())
	}
	msg := log.String()
	t.Logf("fallback notice: %s", msg)
	if !strings.HasPrefix(msg, "cuda: ") || !strings.HasSuffix(msg, "; falling back to CPU\n") {
		t.Errorf("log = %q, want \"cuda: <reason>; falling back to CPU\"", msg)
	}
	got, err := s.Run(context.Background(), map[string]Tensor{"x": {Shape: []int64{1, 4}, Float32: []float32{1, 0, 0, 1}}}, []string{"y"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := matmulRef([]float32{1, 0, 0, 1}, 1)
	if !closeTo(got["y"].Float32, want, 1e-6) {
		t.Errorf("y = %v, want %v", got["y"].Float32, want)
	}
}

func TestInitIdempotent(t *testing.T) {
	initRuntime(t)
	start := time.Now()
	if err := Init(context.Background(), LibraryOptions{Path: "/nonexistent/lib.so"}); err != nil {
		t.Errorf("second Init: %v, want nil (already initialised)", err)
	}
	if time.Since(start) > time.Second {
		t.Error("second Init was slow")
	}
	if LibraryPath() == "" || RuntimeVersion() == "" {
		t.Errorf("LibraryPath %q, RuntimeVersion %q: want both set", LibraryPath(), RuntimeVersion())
	}
	if !strings.HasPrefix(RuntimeVersion(), "1.") {
		t.Errorf("RuntimeVersion = %q", RuntimeVersion())
	}
}

// TestInitFailsThenRecovers runs in a fresh process: a bad library path
// gives an error naming it, and a later Init with a good path succeeds.
func TestInitFailsThenRecovers(t *testing.T) {
	if os.Getenv("CLIPRAG_ONNX_CHILD") == "1" {
		notLib := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
		if err := os.WriteFile(notLib, []byte("not a shared library"), 0o644); err != nil {
			t.Fatal(err)
		}
		good := os.Getenv(EnvLibrary)
		err := Init(context.Background(), LibraryOptions{Path: notLib, Offline: true})
		if err == nil || !strings.Contains(err.Error(), notLib) {
			t.Fatalf("bad library: err = %v, want it to name %s", err, notLib)
		}
		if _, err := NewSessionFromFile(filepath.Join("testdata", "matmul.onnx"), SessionOptions{}); err == nil || !strings.Contains(err.Error(), "not initialised") {
			t.Fatalf("session before Init: err = %v", err)
		}
		if err := Init(context.Background(), LibraryOptions{Path: good}); err != nil {
			t.Fatalf("retry with %s: %v", good, err)
		}
		fmt.Println("CHILD OK")
		return
	}
	good := os.Getenv(EnvLibrary)
	if good == "" {
		initRuntime(t) // skips, or fails under CI, without a library
		good = LibraryPath()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitFailsThenRecovers$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CLIPRAG_ONNX_CHILD=1", EnvLibrary+"="+good)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CHILD OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
