package embed

import "github.com/cliprag/cliprag/embed/registry"

// Unregister removes a registry entry added by a test.
func Unregister(name string) { registry.Unregister(name) }

// WithPadContext pads text to the context length even where the graph
// allows the real sequence length, for tests that compare the two.
func WithPadContext() Option { return func(o *options) { o.padContext = true } }

// TextTrimmed reports whether m runs its text tower at the real sequence length.
func (m *Model) TextTrimmed() bool { return m.text.trim }

// Opened reports which towers have an open session.
func (m *Model) Opened() (vision, text bool) {
	return m.vision.ls.opened() != nil, m.text.ls.opened() != nil
}

// CacheLen is the number of cached text embeddings.
func (m *Model) CacheLen() int {
	if m.cache == nil {
		return 0
	}
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	return m.cache.order.Len()
}
