package local

import _ "github.com/coder/hnsw"
