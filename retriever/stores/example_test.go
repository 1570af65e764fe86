package stores_test

import (
	"fmt"

	"github.com/cliprag/cliprag/retriever/stores"
)

func ExampleParse() {
	for _, spec := range []string{
		"qdrant://localhost",
		"qdrants://xyz.cloud.qdrant.io:6334/photos",
		"/srv/cliprag/index",
	} {
		s, err := stores.Parse(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s.Kind, s)
	}
	// Output:
	// qdrant qdrant://localhost:6334/images
	// qdrant qdrants://xyz.cloud.qdrant.io:6334/photos
	// local /srv/cliprag/index
}
