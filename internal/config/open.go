package config

import (
	"context"
	"fmt"
	"io"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/stores"
)

// OpenModel loads the configured model. Download progress, if any, goes to progress.
func (c *Config) OpenModel(ctx context.Context, progress io.Writer) (*embed.Model, error) {
	opts := []embed.Option{
		embed.WithDevice(c.Device),
		embed.WithThreads(c.Threads),
		embed.WithQuantized(c.Quantized),
		embed.WithOffline(c.Offline),
	}
	if c.CacheDir != "" {
		opts = append(opts, embed.WithCacheDir(c.CacheDir))
	}
	if c.ORTLib != "" {
		opts = append(opts, embed.WithLibrary(c.ORTLib))
	}
	if progress != nil {
		opts = append(opts, embed.WithProgress(progress))
	}
	return embed.Load(ctx, c.Model, opts...)
}

// StoreSpec is the configured store, or the default directory.
func (c *Config) StoreSpec() string {
	if c.Store != "" {
		return c.Store
	}
	return stores.DefaultDir()
}

// OpenStore opens the configured store, read-only when c.ReadOnly is set
// (an embedded index can then be searched while rag-ingest writes it).
func (c *Config) OpenStore(ctx context.Context) (retriever.Store, error) {
	return stores.Open(ctx, c.StoreSpec(), stores.Options{QdrantAPIKey: c.QdrantAPIKey, ReadOnly: c.ReadOnly})
}

// Open loads the model and opens the store, and checks that the store holds
// (or can hold) this model's vectors: an index built with another model is
// a *retriever.MismatchError naming both. Front ends that serve an index
// (rag-mcp, rag-search) use it; the caller closes both.
func (c *Config) Open(ctx context.Context, progress io.Writer) (*embed.Model, retriever.Store, error) {
	m, err := c.OpenModel(ctx, progress)
	if err != nil {
		return nil, nil, fmt.Errorf("load model %s: %w", c.Model, err)
	}
	s, err := c.OpenStore(ctx)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open store %s: %w", c.StoreSpec(), err)
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: m.ID(), Dim: m.Dim()}); err != nil {
		s.Close()
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}
