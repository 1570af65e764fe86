package embed

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/cliprag/cliprag/embed/onnx"
)

// EmbedTexts returns the L2-normalised embeddings of texts, in order. Texts
// embedded before (labels, templates, repeated queries) come from a bounded
// cache (see WithTextCache); each call returns its own copies.
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if err := m.begin(); err != nil {
		return nil, fmt.Errorf("embed texts: %w", err)
	}
	defer m.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed texts: %w", err)
	}
	out := make([][]float32, len(texts))
	// todo lists the first index of each distinct text the cache lacks.
	var todo []int
	first := map[string]int{}
	for i, t := range texts {
		if v, ok := m.cache.get(t); ok {
			out[i] = v
			continue
		}
		if _, seen := first[t]; !seen {
			first[t] = i
			todo = append(todo, i)
		}
	}
	for s := 0; s < len(todo); s += m.batch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
		idx := todo[s:min(s+m.batch, len(todo))]
		batch := make([]string, len(idx))
		for j, i := range idx {
			batch[j] = texts[i]
		}
		v, err := m.embedTextBatch(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("embed texts %d–%d: %w", idx[0], idx[len(idx)-1], err)
		}
		for j, i := range idx {
			out[i] = v[j]
			m.cache.put(texts[i], v[j])
		}
	}
	for i, t := range texts {
		if out[i] == nil {
			out[i] = append([]float32(nil), out[first[t]]...)
		}
	}
	return out, nil
}

// encode tokenises texts, fitting each to the context length: a longer
// sequence keeps its first ContextLength-1 ids and its last (end) id.
func (m *Model) encode(texts []string) [][]int64 {
	ids := make([][]int64, len(texts))
	for i, t := range texts {
		e := m.tok.Encode(t)
		if len(e) > m.ctxLen {
			e = append(append([]int64(nil), e[:m.ctxLen-1]...), e[len(e)-1])
		}
		ids[i] = e
	}
	return ids
}

// seqLen is the sequence length the text tower runs ids at: the context
// length, or the longest of ids where the tower allows it.
func (m *Model) seqLen(ids [][]int64) int {
	if !m.text.trim {
		return m.ctxLen
	}
	n := 1
	for _, seq := range ids {
		n = max(n, len(seq))
	}
	return n
}

// textTensor builds the input of kind k for the token sequences ids, padded
// to seqLen(ids).
func (m *Model) textTensor(k inputKind, ids [][]int64) onnx.Tensor {
	n, c := len(ids), m.seqLen(ids)
	data := make([]int64, n*c)
	pad := m.tok.PadID()
	for i, seq := range ids {
		row := data[i*c : (i+1)*c]
		for j := range row {
			switch k {
			case inIDs:
				row[j] = pad
				if j < len(seq) {
					row[j] = seq[j]
				}
			case inMask:
				if j < len(seq) {
					row[j] = 1
				}
			case inTypes:
				// zeros
			}
		}
	}
	return onnx.Tensor{Shape: []int64{int64(n), int64(c)}, Int64: data}
}

func (m *Model) embedTextBatch(ctx context.Context, texts []string) ([][]float32, error) {
	ids := m.encode(texts)
	feeds := map[string]onnx.Tensor{}
	for name, k := range m.text.inputs {
		switch k {
		case inPixels:
			// A combined model also wants an image: feed one blank image.
			s := int64(m.pre.Size)
			feeds[name] = onnx.Tensor{Shape: []int64{1, 3, s, s}, Float32: make([]float32, 3*s*s)}
		default:
			feeds[name] = m.textTensor(k, ids)
		}
	}
	out, err := m.text.run(ctx, feeds)
	if err != nil {
		return nil, err
	}
	return m.rows(m.text, out, len(texts), ids)
}

// textCache is a bounded LRU of text embeddings. A nil *textCache keeps
// nothing.
type textCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *cacheEntry
	items map[string]*list.Element
}

type cacheEntry struct {
	text string
	vec  []float32
}

func newTextCache(n int) *textCache {
	if n <= 0 {
		return nil
	}
	return &textCache{max: n, order: list.New(), items: map[string]*list.Element{}}
}

// get returns a copy of the cached embedding of text.
func (c *textCache) get(text string) ([]float32, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[text]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return append([]float32(nil), e.Value.(*cacheEntry).vec...), true
}

// put stores a copy of vec as text's embedding, dropping the least recently
// used entry when full.
func (c *textCache) put(text string, vec []float32) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[text]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[text] = c.order.PushFront(&cacheEntry{text: text, vec: append([]float32(nil), vec...)})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).text)
	}
}
