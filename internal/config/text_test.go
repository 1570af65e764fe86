package config_test

import (
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/tools/ingest"
)

// The commands' text reader serves ingest (rag-ingest -ocr).
var _ ingest.TextReader = (*config.TextReader)(nil)
