package embed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cliprag/cliprag/embed/layout"
	"github.com/cliprag/cliprag/embed/onnx"
)

// inputKind is what a model input is fed with.
type inputKind int

const (
	inPixels inputKind = iota
	inIDs
	inMask
	inTypes
)

// lazySession is one ONNX file, opened on first use. The towers of a
// combined export share one.
type lazySession struct {
	src  layout.Source
	file string
	so   onnx.SessionOptions

	ins, outs []onnx.TensorInfo // read from the file without opening it

	mu   sync.Mutex
	sess *onnx.Session
	err  error
}

// newLazySession reads the file's inputs and outputs. When they cannot be
// read from the protobuf, it opens the session at once (ONNX Runtime then
// reads them, or says what is wrong with the file).
func newLazySession(src layout.Source, file string, so onnx.SessionOptions) (*lazySession, error) {
	ls := &lazySession{src: src, file: file, so: so}
	var err error
	if p := src.Path(file); p != "" {
		ls.ins, ls.outs, err = onnx.ReadModelIO(p)
	} else {
		var b []byte
		if b, err = src.ReadFile(file); err != nil {
			return nil, fmt.Errorf("read %s: %w", src.Display(file), err)
		}
		ls.ins, ls.outs, err = onnx.ReadModelIOBytes(b)
	}
	if err == nil && len(ls.ins) > 0 && len(ls.outs) > 0 {
		return ls, nil
	}
	s, err := ls.session()
	if err != nil {
		return nil, err
	}
	ls.ins, ls.outs = s.Inputs(), s.Outputs()
	return ls, nil
}

// session opens the file on the first call and returns the same session
// (or error) afterwards.
func (ls *lazySession) session() (*onnx.Session, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.sess != nil || ls.err != nil {
		return ls.sess, ls.err
	}
	if p := ls.src.Path(ls.file); p != "" {
		// By path, so that external data files next to it are found.
		ls.sess, ls.err = onnx.NewSessionFromFile(p, ls.so)
		return ls.sess, ls.err
	}
	b, err := ls.src.ReadFile(ls.file)
	if err != nil {
		ls.err = fmt.Errorf("read %s: %w", ls.src.Display(ls.file), err)
		return nil, ls.err
	}
	ls.sess, ls.err = onnx.NewSessionFromBytes(b, ls.so)
	return ls.sess, ls.err
}

// opened returns the session if it is open, else nil.
func (ls *lazySession) opened() *onnx.Session {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.sess
}

// close closes the session if it was opened; later calls to session fail.
func (ls *lazySession) close() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	s := ls.sess
	ls.sess, ls.err = nil, errClosed
	if s == nil {
		return nil
	}
	return s.Close()
}

// tower is one encoder: its session, how to feed it and which output to read.
type tower struct {
	what   string // "vision model" or "text model", for errors
	ls     *lazySession
	inputs map[string]inputKind
	output string
	rank3  bool // output is [batch, seq, dim] (last_hidden_state): pool one row
	cls    bool // pool the first token (BERT, vision) rather than the end token (CLIP text)
	// trim runs text at the batch's longest sequence rather than the
	// context length: the graph's sequence axis is dynamic and padding
	// cannot change the result (an attention_mask input masks it, or the
	// tower is causal and pooled before the padding).
	trim bool
}

// run opens the tower's session if needed and runs it.
func (t *tower) run(ctx context.Context, feeds map[string]onnx.Tensor) (onnx.Tensor, error) {
	s, err := t.ls.session()
	if err != nil {
		return onnx.Tensor{}, fmt.Errorf("%s: %w", t.what, err)
	}
	res, err := s.Run(ctx, feeds, []string{t.output})
	if err != nil {
		return onnx.Tensor{}, err
	}
	return res[t.output], nil
}

// buildTowers reads both towers' inputs and outputs and checks them against
// the preprocessor and context length; the sessions open on first use.
func (m *Model) buildTowers(l *layout.Model, o *options) error {
	so := onnx.SessionOptions{Threads: o.threads, Device: o.device, Log: o.log}
	if cache, err := o.cache(); err == nil && o.copies != SessionCacheOff {
		so.CacheDir, so.CacheNoWrite = cache, o.copies == SessionCacheRead
	}
	vs, err := newLazySession(l.Vision, l.VisionFile, so)
	if err != nil {
		return fmt.Errorf("vision model: %w", err)
	}
	ts := vs
	if l.Kind != LayoutCombined {
		if ts, err = newLazySession(l.Text, l.TextFile, so); err != nil {
			vs.close()
			return fmt.Errorf("text model: %w", err)
		}
	}
	m.sessions = []*lazySession{vs}
	if ts != vs {
		m.sessions = append(m.sessions, ts)
	}
	if m.vision, err = newTower(vs, inPixels, []string{"image_embeds"}, true); err != nil {
		m.Close()
		return fmt.Errorf("vision model %s: %w", l.Vision.Display(l.VisionFile), err)
	}
	m.vision.what = "vision model"
	if m.text, err = newTower(ts, inIDs, []string{"text_embeds"}, l.TextPoolsFirst()); err != nil {
		m.Close()
		return fmt.Errorf("text model %s: %w", l.Text.Display(l.TextFile), err)
	}
	m.text.what = "text model"
	if err := m.checkInputs(); err != nil {
		m.Close()
		return err
	}
	m.text.trim = !o.padContext && canTrim(m.text, l.TextCausal())
	return nil
}

// canTrim reports whether a text tower may run at the real sequence length:
// every text input has a dynamic sequence axis, and either an attention
// mask hides the padding or the tower is causal and pooled at the end
// token (a causal tower's outputs before the padding do not see it).
func canTrim(t *tower, causal bool) bool {
	mask := false
	for _, in := range t.ls.ins {
		k, ok := t.inputs[in.Name]
		if !ok || k == inPixels {
			continue
		}
		if len(in.Shape) != 2 || in.Shape[1] > 0 {
			return false
		}
		mask = mask || k == inMask
	}
	return mask || (causal && !t.cls)
}

// newTower classifies the session's inputs and picks its output: the first
// of prefer that exists, else the only output, else pooler_output, else
// last_hidden_state (pooled: the first token for vision and BERT towers, the
// end-of-text token for CLIP text towers).
func newTower(ls *lazySession, primary inputKind, prefer []string, cls bool) (*tower, error) {
	t := &tower{ls: ls, inputs: map[string]inputKind{}, cls: cls}
	if err := t.classifyInputs(primary); err != nil {
		return nil, err
	}
	pick := pickOutput(ls.outs, prefer)
	if pick == nil {
		return nil, fmt.Errorf("no embedding output among %v (want %s, pooler_output or last_hidden_state)", names(ls.outs), strings.Join(prefer, ", "))
	}
	t.output = pick.Name
	switch len(pick.Shape) {
	case 2, 0:
	case 3:
		t.rank3 = true
	default:
		return nil, fmt.Errorf("output %q has rank %d, want 2 or 3", pick.Name, len(pick.Shape))
	}
	return t, nil
}

// classifyInputs says how each input is fed.
func (t *tower) classifyInputs(primary inputKind) error {
	ins := t.ls.ins
	for _, in := range ins {
		switch {
		case in.Name == "pixel_values":
			t.inputs[in.Name] = inPixels
		case in.Name == "input_ids":
			t.inputs[in.Name] = inIDs
		case in.Name == "attention_mask":
			t.inputs[in.Name] = inMask
		case in.Name == "token_type_ids":
			t.inputs[in.Name] = inTypes
		case len(ins) == 1: // a single input of another name is the tower's own input
			t.inputs[in.Name] = primary
		case in.Type == "float32" && len(in.Shape) == 4:
			t.inputs[in.Name] = inPixels
		default:
			return fmt.Errorf("input %q (%s %v) is not one cliprag knows how to feed (pixel_values, input_ids, attention_mask, token_type_ids)",
				in.Name, in.Type, in.Shape)
		}
	}
	for _, k := range t.inputs {
		if k == primary {
			return nil
		}
	}
	return fmt.Errorf("no %s input among %v", map[inputKind]string{inPixels: "pixel_values", inIDs: "input_ids"}[primary], names(ins))
}

// pickOutput is the embedding output: the first of prefer, else the only
// output, else pooler_output, else last_hidden_state; nil when none fits.
func pickOutput(outs []onnx.TensorInfo, prefer []string) *onnx.TensorInfo {
	has := func(n string) *onnx.TensorInfo {
		for i := range outs {
			if outs[i].Name == n {
				return &outs[i]
			}
		}
		return nil
	}
	for _, n := range prefer {
		if p := has(n); p != nil {
			return p
		}
	}
	if len(outs) == 1 {
		return &outs[0]
	}
	if p := has("pooler_output"); p != nil {
		return p
	}
	return has("last_hidden_state")
}

func names(infos []onnx.TensorInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Name
	}
	return out
}

// checkInputs checks that static input shapes agree with the preprocessor
// and the context length.
func (m *Model) checkInputs() error {
	for _, t := range []*tower{m.vision, m.text} {
		for _, in := range t.ls.ins {
			switch t.inputs[in.Name] {
			case inPixels:
				if len(in.Shape) == 4 {
					for _, d := range in.Shape[2:] {
						if d > 0 && int(d) != m.pre.Size {
							return fmt.Errorf("input %s wants %v, preprocessor_config.json says %d", in.Name, in.Shape, m.pre.Size)
						}
					}
				}
			default:
				if len(in.Shape) == 2 && in.Shape[1] > 0 && int(in.Shape[1]) != m.ctxLen {
					// A fixed sequence length in the graph wins over the configs.
					m.ctxLen = int(in.Shape[1])
				}
			}
		}
	}
	if m.ctxLen <= 1 {
		return fmt.Errorf("context length %d is too short", m.ctxLen)
	}
	return nil
}

// probeDim sets the embedding dimension: projection_dim, else the outputs'
// static last dimension, else one probe run of the text tower.
func (m *Model) probeDim(ctx context.Context, projection int) error {
	m.dim = projection
	for _, t := range []*tower{m.vision, m.text} {
		for _, oi := range t.ls.outs {
			if oi.Name != t.output || len(oi.Shape) == 0 {
				continue
			}
			if d := oi.Shape[len(oi.Shape)-1]; d > 0 {
				if m.dim != 0 && int(d) != m.dim {
					return fmt.Errorf("output %s has dimension %d, config says %d", oi.Name, d, m.dim)
				}
				m.dim = int(d)
			}
		}
	}
	if m.dim != 0 {
		return nil
	}
	v, err := m.embedTextBatch(ctx, []string{""})
	if err != nil {
		return fmt.Errorf("probe text tower: %w", err)
	}
	m.dim = len(v[0])
	return nil
}

// rows splits an output tensor into n normalised vectors, pooling rank-3
// outputs (the first token, or for CLIP text the end-of-text token, which is
// the last id of each sequence).
func (m *Model) rows(t *tower, out onnx.Tensor, n int, ids [][]int64) ([][]float32, error) {
	if out.Float32 == nil {
		return nil, fmt.Errorf("output %s is not float", t.output)
	}
	seq, d, err := outputDims(t, out.Shape)
	if err != nil {
		return nil, err
	}
	if int(out.Shape[0]) != n || len(out.Float32) != n*seq*d || d == 0 {
		return nil, fmt.Errorf("output %s has shape %v for %d inputs", t.output, out.Shape, n)
	}
	if m.dim != 0 && d != m.dim {
		return nil, fmt.Errorf("output %s has dimension %d, want %d", t.output, d, m.dim)
	}
	res := make([][]float32, n)
	for i := range res {
		tok := 0
		if t.rank3 && !t.cls && ids != nil {
			tok = min(len(ids[i]), seq) - 1
		}
		off := (i*seq + tok) * d
		v := make([]float32, d)
		copy(v, out.Float32[off:off+d])
		normalize(v)
		res[i] = v
	}
	return res, nil
}

// outputDims returns the sequence length (1 for rank 2) and width of an
// output of shape sh.
func outputDims(t *tower, sh []int64) (seq, d int, err error) {
	switch {
	case !t.rank3 && len(sh) == 2:
		return 1, int(sh[1]), nil
	case t.rank3 && len(sh) == 3:
		return int(sh[1]), int(sh[2]), nil
	}
	return 0, 0, fmt.Errorf("output %s has shape %v", t.output, sh)
}

var errClosed = errors.New("model is closed")
