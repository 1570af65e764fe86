package qdrant_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/qdrant"
)

// Open a collection on a Qdrant server, create it for a model and search it.
func Example() {
	ctx := context.Background()
	s, err := qdrant.Open(ctx, qdrant.Config{
		Host:       "localhost",
		Port:       6334,
		Collection: "images",
		APIKey:     os.Getenv("QDRANT_API_KEY"),
	})
	if err != nil {
		log.Fatal(err) // *qdrant.UnreachableError says how to start Qdrant
	}
	defer s.Close()
	if err := s.Ensure(ctx, retriever.Collection{Model: "openai/clip-vit-base-patch32", Dim: 512}); err != nil {
		log.Fatal(err) // *retriever.MismatchError when built with another model
	}
	query := make([]float32, 512) // from embed.Model.EmbedTexts
	query[0] = 1
	hits, err := s.Search(ctx, query, 10, retriever.Filter{AnyTags: []string{"cat"}, FolderPrefix: "/photos/2024"})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		fmt.Printf("%.3f %s\n", h.Score, h.Payload.Path)
	}
}
