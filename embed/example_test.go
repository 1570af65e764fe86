package embed_test

import (
	"context"
	"fmt"
	"image"
	"log"
	"math/rand/v2"
	"sort"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// ExampleLoad loads the bundled tiny model (no download) and embeds a caption.
// Pass a registry name such as "clip-vit-b-32" or a model directory instead
// for real CLIP models.
func ExampleLoad() {
	ctx := context.Background()
	m, err := embed.Load(ctx, "tiny-shapes")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.EmbedTexts(ctx, []string{"a photo of a red circle"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.ID(), m.Dim(), m.ContextLength(), len(vecs[0]) == m.Dim())
	// Output: tiny-shapes 64 77 true
}

// ExampleModel_Classify tags an image by zero-shot classification over the
// tiny model's 20 classes with CLIP's default prompt "a photo of a {}.".
func ExampleModel_Classify() {
	ctx := context.Background()
	m, err := embed.Load(ctx, "tiny-shapes")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	img := tinyshapes.Draw(rand.New(rand.NewPCG(1, 1)), "purple", "triangle", tinyshapes.Options{Width: 320, Height: 240})
	vecs, err := m.EmbedImages(ctx, []image.Image{img})
	if err != nil {
		log.Fatal(err)
	}
	labels := tinyshapes.Classes() // "red circle", "red square", …
	probs, err := m.Classify(ctx, vecs[0], labels, nil)
	if err != nil {
		log.Fatal(err)
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].Prob > probs[j].Prob })
	var sum float32
	for _, p := range probs {
		sum += p.Prob
	}
	fmt.Printf("%s (of %d labels; probabilities sum to %.2f)\n", probs[0].Label, len(probs), sum)
	// Output: purple triangle (of 20 labels; probabilities sum to 1.00)
}
