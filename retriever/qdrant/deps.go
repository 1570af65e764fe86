package qdrant

import _ "github.com/qdrant/go-client/qdrant"
