package tools

import (
	"context"

	"github.com/cliprag/cliprag/retriever"
)

// emptyStore is an index with nothing in it, for the root checks.
type emptyStore struct{ retriever.Store }

func (emptyStore) Files(context.Context, func(retriever.FileEntry) error) error { return nil }
func (emptyStore) String() string                                               { return "empty" }
