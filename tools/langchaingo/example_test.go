package langchaingo_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms/fake"
	"github.com/tmc/langchaingo/schema"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	lc "github.com/cliprag/cliprag/tools/langchaingo"
)

// drawExamples draws a few images of the tiny model's domain into a new
// temporary folder and returns it.
func drawExamples(names ...[2]string) string {
	dir, err := os.MkdirTemp("", "cliprag-example-*")
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range names {
		img := tinyshapes.Draw(rng, n[0], n[1], tinyshapes.Options{Width: 200, Height: 160})
		if err := tinyshapes.WriteFile(filepath.Join(dir, n[0]+"-"+n[1]+".png"), img); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

// ExampleNewRetriever indexes a folder of images, then uses the retriever in
// a langchaingo retrieval QA chain like any other schema.Retriever. A real
// program would pass an LLM such as openai.New() instead of the fake one,
// and open its index with config.FromEnv and cfg.Open.
func ExampleNewRetriever() {
	ctx := context.Background()
	dir := drawExamples([2]string{"red", "circle"}, [2]string{"blue", "square"}, [2]string{"yellow", "cross"})
	defer os.RemoveAll(dir)

	m, err := embed.Load(ctx, "tiny-shapes")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	store := local.OpenMemory(nil)
	defer store.Close()
	if _, err := ingest.Run(ctx, m, store, ingest.Options{Paths: []string{dir}}); err != nil {
		log.Fatal(err)
	}
	svc, err := tools.New(m, store, tools.Options{})
	if err != nil {
		log.Fatal(err)
	}

	var r schema.Retriever = lc.NewRetriever(svc, lc.WithTopK(2))
	docs, err := r.GetRelevantDocuments(ctx, "a photo of a red circle")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(docs), "documents; best:", docs[0].Metadata["file_name"], docs[0].Metadata["mime_type"],
		docs[0].Metadata["width"], "x", docs[0].Metadata["height"])

	llm := fake.NewFakeLLM([]string{"The red circle is red-circle.png."})
	answer, err := chains.Run(ctx, chains.NewRetrievalQAFromLLM(llm, r), "Which picture shows a red circle?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer)
	// Output:
	// 2 documents; best: red-circle.png image/png 200 x 160
	// The red circle is red-circle.png.
}

// ExampleEmbedder puts captions and images in one vector space: the
// text vectors from EmbedQuery or EmbedDocuments (what a langchaingo vector
// store calls) sit beside the image vectors from EmbedImages, so the image
// whose vector is closest to a question's vector is the one that shows it.
// To search images with a langchaingo vector store, store the image vectors
// (with the path in the metadata) through the store's client and query it
// with EmbedQuery; cliprag's own index and Retriever do exactly this.
func ExampleEmbedder() {
	ctx := context.Background()
	dir := drawExamples([2]string{"red", "circle"}, [2]string{"blue", "square"}, [2]string{"yellow", "cross"})
	defer os.RemoveAll(dir)

	m, err := embed.Load(ctx, "tiny-shapes")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	e := lc.NewEmbedder(m)

	paths, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	images, err := e.EmbedImages(ctx, paths)
	if err != nil {
		log.Fatal(err)
	}
	q, err := e.EmbedQuery(ctx, "a photo of a blue square")
	if err != nil {
		log.Fatal(err)
	}
	best := 0
	for i, v := range images {
		if embed.Cosine(q, v) > embed.Cosine(q, images[best]) {
			best = i
		}
	}
	fmt.Println(len(q) == e.Dim(), len(images[0]) == e.Dim(), filepath.Base(paths[best]))
	// Output: true true blue-square.png
}
