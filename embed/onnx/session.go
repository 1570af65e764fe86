package onnx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOptions configures a session.
type SessionOptions struct {
	Threads int       // intra-op threads; 0 means the number of CPUs
	Device  string    // "cpu" (default) or "cuda"
	Log     io.Writer // where notices such as a CUDA fallback go; nil for os.Stderr

	// CacheDir, when set, keeps a copy of each model NewSessionFromFile
	// opens on the CPU, optimised and in ONNX Runtime's own format, under
	// CacheDir/ort, and opens later sessions of that model from the copy:
	// memory-mapped, its weights used in place, with no graph optimisation
	// left to do. Start-up then takes a fraction of the time and the
	// weights are not copied. The first open writes the copy, which takes
	// longer and, while it is written, about twice the model's size in
	// memory. Empty: no cache.
	CacheDir string
	// CacheNoWrite uses a copy that is already in CacheDir but never
	// writes one, for programs that would rather not pay the first open's
	// memory.
	CacheNoWrite bool
}

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name  string
	Type  string  // "float32", "int64", "int32", ...
	Shape []int64 // -1 for dynamic dimensions
}

// Tensor is a dense tensor; exactly one of Float32 and Int64 is set.
//
// Run converts Int64 data for int32 model inputs and returns int32, int8,
// uint8 … outputs as Int64 and float64 outputs as Float32.
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// Session is an open model. Run is safe for concurrent use.
type Session struct {
	name    string // model path, or "<in-memory model>", for error messages
	device  string
	inputs  []TensorInfo
	outputs []TensorInfo
	inIdx   map[string]int
	outIdx  map[string]int

	mu      sync.RWMutex // Run holds it shared, Close exclusively
	sess    *ort.DynamicAdvancedSession
	release func() error // after the session is destroyed: unmaps a cached model; nil for none
}

// NewSessionFromFile opens the ONNX model at path.
func NewSessionFromFile(path string, o SessionOptions) (*Session, error) {
	if err := requireInit(); err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	info := func() ([]TensorInfo, []TensorInfo, error) {
		if ins, outs, err := readModelIOFile(path); err == nil && len(ins) > 0 && len(outs) > 0 {
			return ins, outs, nil
		}
		// Let ONNX Runtime read them, with a light temporary session (no
		// graph optimisation, one thread).
		so, err := ort.NewSessionOptions()
		if err != nil {
			return nil, nil, err
		}
		defer so.Destroy()
		_ = so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
		_ = so.SetIntraOpNumThreads(1)
		return convertInfos(ort.GetInputOutputInfoWithOptions(path, so))
	}
	if useCache(o) {
		if s := openCached(path, o, info); s != nil {
			return s, nil
		}
	}
	create := func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSession(path, in, out, so)
	}
	return newSession(path, o, info, create)
}

// NewSessionFromBytes opens an ONNX model held in memory.
func NewSessionFromBytes(data []byte, o SessionOptions) (*Session, error) {
	const name = "<in-memory model>"
	if err := requireInit(); err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("open model %s: empty model data", name)
	}
	info := func() ([]TensorInfo, []TensorInfo, error) {
		if ins, outs, err := readModelIO(bytes.NewReader(data)); err == nil && len(ins) > 0 && len(outs) > 0 {
			return ins, outs, nil
		}
		return convertInfos(ort.GetInputOutputInfoWithONNXData(data))
	}
	create := func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
	}
	return newSession(name, o, info, create)
}

func newSession(name string, o SessionOptions,
	info func() ([]TensorInfo, []TensorInfo, error),
	create func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error),
) (*Session, error) {
	logw := o.Log
	if logw == nil {
		logw = os.Stderr
	}
	device := strings.ToLower(strings.TrimSpace(o.Device))
	switch device {
	case "", "cpu":
		device = "cpu"
	case "cuda", "gpu":
		device = "cuda"
	default:
		return nil, fmt.Errorf("open model %s: unknown device %q (want \"cpu\" or \"cuda\")", name, o.Device)
	}
	if o.Threads < 0 {
		return nil, fmt.Errorf("open model %s: negative thread count %d", name, o.Threads)
	}

	ins, outs, err := info()
	if err != nil {
		return nil, fmt.Errorf("open model %s: read inputs/outputs: %w", name, err)
	}
	s := &Session{name: name, inIdx: map[string]int{}, outIdx: map[string]int{}}
	var inNames, outNames []string
	s.inputs, s.outputs = ins, outs
	for i, in := range ins {
		s.inIdx[in.Name] = i
		inNames = append(inNames, in.Name)
	}
	for i, out := range outs {
		s.outIdx[out.Name] = i
		outNames = append(outNames, out.Name)
	}
	if len(inNames) == 0 || len(outNames) == 0 {
		return nil, fmt.Errorf("open model %s: model has %d inputs and %d outputs; need at least one of each", name, len(inNames), len(outNames))
	}

	if device == "cuda" {
		so, err := sessionOptions(o.Threads)
		if err != nil {
			return nil, fmt.Errorf("open model %s: %w", name, err)
		}
		err = appendCUDA(so)
		if err == nil {
			s.sess, err = create(inNames, outNames, so)
		}
		so.Destroy()
		if err == nil {
			s.device = "cuda"
			return s, nil
		}
		fmt.Fprintf(logw, "cuda: %s; falling back to CPU\n", oneLine(err))
	}
	so, err := sessionOptions(o.Threads)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	defer so.Destroy()
	s.sess, err = create(inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	s.device = "cpu"
	return s, nil
}

func appendCUDA(so *ort.SessionOptions) error {
	// ONNX Runtime logs the provider's load failure itself; the caller
	// reports it in one plain line instead.
	if ort.SetEnvironmentLogLevel(ort.LoggingLevelFatal) == nil {
		defer ort.SetEnvironmentLogLevel(ort.LoggingLevelError)
	}
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	defer co.Destroy()
	if err := so.AppendExecutionProviderCUDA(co); err != nil {
		return fmt.Errorf("CUDA execution provider unavailable: %w", err)
	}
	return nil
}

func sessionOptions(threads int) (*ort.SessionOptions, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	steps := []struct {
		what string
		f    func() error
	}{
		{"intra-op threads", func() error { return so.SetIntraOpNumThreads(threads) }},
		{"inter-op threads", func() error { return so.SetInterOpNumThreads(1) }},
		{"graph optimisation", func() error { return so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) }},
		// Idle intra-op threads sleep instead of spinning: a spinning thread
		// takes the CPU from the ingest decode workers that run beside the
		// model (end-to-end ingest +10–50 %, model alone unchanged; see
		// BENCHMARKS.md).
		{"intra-op spinning", func() error { return so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") }},
	}
	for _, st := range steps {
		if err := st.f(); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("session options: %s: %w", st.what, err)
		}
	}
	return so, nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func convertInfos(ins, outs []ort.InputOutputInfo, err error) ([]TensorInfo, []TensorInfo, error) {
	if err != nil {
		return nil, nil, err
	}
	var a, b []TensorInfo
	for _, in := range ins {
		a = append(a, convertInfo(in))
	}
	for _, out := range outs {
		b = append(b, convertInfo(out))
	}
	return a, b, nil
}

func convertInfo(in ort.InputOutputInfo) TensorInfo {
	t := TensorInfo{Name: in.Name, Type: typeName(in.DataType)}
	if in.OrtValueType != ort.ONNXTypeTensor {
		t.Type = strings.ToLower(in.OrtValueType.String())
	}
	for _, d := range in.Dimensions {
		if d <= 0 {
			d = -1
		}
		t.Shape = append(t.Shape, d)
	}
	return t
}

func typeName(t ort.TensorElementDataType) string {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	case ort.TensorElementDataTypeBFloat16:
		return "bfloat16"
	case ort.TensorElementDataTypeInt64:
		return "int64"
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeInt16:
		return "int16"
	case ort.TensorElementDataTypeInt8:
		return "int8"
	case ort.TensorElementDataTypeUint8:
		return "uint8"
	case ort.TensorElementDataTypeUint16:
		return "uint16"
	case ort.TensorElementDataTypeUint32:
		return "uint32"
	case ort.TensorElementDataTypeUint64:
		return "uint64"
	case ort.TensorElementDataTypeBool:
		return "bool"
	case ort.TensorElementDataTypeString:
		return "string"
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

// Name is the model path the session was opened from, or "<in-memory model>".
func (s *Session) Name() string { return s.name }

// Inputs describes the model's inputs.
func (s *Session) Inputs() []TensorInfo { return cloneInfos(s.inputs) }

// Outputs describes the model's outputs.
func (s *Session) Outputs() []TensorInfo { return cloneInfos(s.outputs) }

func cloneInfos(in []TensorInfo) []TensorInfo {
	out := make([]TensorInfo, len(in))
	for i, t := range in {
		out[i] = TensorInfo{Name: t.Name, Type: t.Type, Shape: append([]int64(nil), t.Shape...)}
	}
	return out
}

// Device is the execution provider actually in use: "cpu" or "cuda".
func (s *Session) Device() string { return s.device }

// Run feeds inputs by name and returns the named outputs. Every model input
// must be given. An empty outputs list returns all outputs. Cancelling ctx
// stops a running inference.
func (s *Session) Run(ctx context.Context, inputs map[string]Tensor, outputs []string) (map[string]Tensor, error) {
	if s == nil {
		return nil, errors.New("onnx: run on a nil session")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, fmt.Errorf("run %s: session is closed", s.name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}
	wrap := func(err error) error {
		names := make([]string, 0, len(s.inputs))
		for _, in := range s.inputs {
			names = append(names, in.Name)
		}
		return fmt.Errorf("run %s (inputs %s): %w", s.name, strings.Join(names, ", "), err)
	}
	for name := range inputs {
		if _, ok := s.inIdx[name]; !ok {
			return nil, wrap(fmt.Errorf("model has no input %q", name))
		}
	}
	for _, name := range outputs {
		if _, ok := s.outIdx[name]; !ok {
			names := make([]string, 0, len(s.outputs))
			for _, o := range s.outputs {
				names = append(names, o.Name)
			}
			return nil, wrap(fmt.Errorf("model has no output %q (outputs: %s)", name, strings.Join(names, ", ")))
		}
	}

	in := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range in {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, wrap(fmt.Errorf("missing input %q", info.Name))
		}
		v, err := toValue(info, t)
		if err != nil {
			return nil, wrap(fmt.Errorf("input %q: %w", info.Name, err))
		}
		in[i] = v
	}

	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, wrap(fmt.Errorf("run options: %w", err))
	}
	defer ro.Destroy()
	stop := context.AfterFunc(ctx, func() { _ = ro.Terminate() })
	out := make([]ort.Value, len(s.outputs))
	err = s.sess.RunWithOptions(in, out, ro)
	stop()
	defer func() {
		for _, v := range out {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, wrap(fmt.Errorf("%w (%v)", cerr, oneLine(err)))
		}
		return nil, wrap(err)
	}

	want := outputs
	if len(want) == 0 {
		for _, o := range s.outputs {
			want = append(want, o.Name)
		}
	}
	res := make(map[string]Tensor, len(want))
	for _, name := range want {
		t, err := fromValue(out[s.outIdx[name]])
		if err != nil {
			return nil, wrap(fmt.Errorf("output %q: %w", name, err))
		}
		res[name] = t
	}
	return res, nil
}

func checkShape(info TensorInfo, shape []int64, n int) error {
	if len(shape) == 0 {
		return errors.New("empty shape")
	}
	if len(info.Shape) > 0 && len(info.Shape) != len(shape) {
		return fmt.Errorf("shape %v has rank %d, model wants rank %d %v", shape, len(shape), len(info.Shape), info.Shape)
	}
	size := int64(1)
	for i, d := range shape {
		if d <= 0 {
			return fmt.Errorf("shape %v has a non-positive dimension", shape)
		}
		if len(info.Shape) > 0 && info.Shape[i] > 0 && info.Shape[i] != d {
			return fmt.Errorf("shape %v does not match model shape %v", shape, info.Shape)
		}
		size *= d
	}
	if size != int64(n) {
		return fmt.Errorf("shape %v needs %d values, got %d", shape, size, n)
	}
	return nil
}

func toValue(info TensorInfo, t Tensor) (ort.Value, error) {
	if (t.Float32 != nil) == (t.Int64 != nil) {
		return nil, errors.New("exactly one of Float32 and Int64 must be set")
	}
	shape := ort.NewShape(t.Shape...)
	switch info.Type {
	case "float32":
		if t.Float32 == nil {
			return nil, fmt.Errorf("model wants float32, got int64 data")
		}
		if err := checkShape(info, t.Shape, len(t.Float32)); err != nil {
			return nil, err
		}
		return ort.NewTensor(shape, t.Float32)
	case "int64":
		if t.Int64 == nil {
			return nil, fmt.Errorf("model wants int64, got float32 data")
		}
		if err := checkShape(info, t.Shape, len(t.Int64)); err != nil {
			return nil, err
		}
		return ort.NewTensor(shape, t.Int64)
	case "int32":
		if t.Int64 == nil {
			return nil, fmt.Errorf("model wants int32, got float32 data")
		}
		if err := checkShape(info, t.Shape, len(t.Int64)); err != nil {
			return nil, err
		}
		d := make([]int32, len(t.Int64))
		for i, v := range t.Int64 {
			if v != int64(int32(v)) {
				return nil, fmt.Errorf("value %d at %d overflows int32", v, i)
			}
			d[i] = int32(v)
		}
		return ort.NewTensor(shape, d)
	}
	return nil, fmt.Errorf("unsupported input type %s", info.Type)
}

func fromValue(v ort.Value) (Tensor, error) {
	if v == nil {
		return Tensor{}, errors.New("no value produced")
	}
	t := Tensor{Shape: append([]int64(nil), v.GetShape()...)}
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		t.Float32 = append(make([]float32, 0, len(x.GetData())), x.GetData()...)
	case *ort.Tensor[float64]:
		t.Float32 = convert[float64, float32](x.GetData())
	case *ort.Tensor[int64]:
		t.Int64 = append(make([]int64, 0, len(x.GetData())), x.GetData()...)
	case *ort.Tensor[int32]:
		t.Int64 = convert[int32, int64](x.GetData())
	case *ort.Tensor[int16]:
		t.Int64 = convert[int16, int64](x.GetData())
	case *ort.Tensor[int8]:
		t.Int64 = convert[int8, int64](x.GetData())
	case *ort.Tensor[uint8]:
		t.Int64 = convert[uint8, int64](x.GetData())
	case *ort.Tensor[uint16]:
		t.Int64 = convert[uint16, int64](x.GetData())
	case *ort.Tensor[uint32]:
		t.Int64 = convert[uint32, int64](x.GetData())
	case *ort.Tensor[bool]:
		d := x.GetData()
		t.Int64 = make([]int64, len(d))
		for i, b := range d {
			if b {
				t.Int64[i] = 1
			}
		}
	default:
		return Tensor{}, fmt.Errorf("unsupported output type %s (element type %d)", v.GetONNXType(), v.DataType())
	}
	return t, nil
}

func convert[A, B int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | float32 | float64](in []A) []B {
	out := make([]B, len(in))
	for i, v := range in {
		out[i] = B(v)
	}
	return out
}

// Close releases the session. It waits for running calls to Run and is safe
// to call more than once.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if s.release != nil {
		err = errors.Join(err, s.release())
		s.release = nil
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", s.name, err)
	}
	return nil
}
