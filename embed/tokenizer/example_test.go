package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/cliprag/cliprag/embed/tokenizer"
)

// Example loads the tiny model's tokenizer.json from its directory and pads
// the ids of a caption to the context length, as a text encoder needs them.
func Example() {
	tok, err := tokenizer.Load("testdata/tiny-bpe")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("A photo of a red circle")
	fmt.Println(len(ids), "ids, context", tok.ContextLength())

	padded := make([]int64, tok.ContextLength())
	for i := range padded {
		padded[i] = tok.PadID()
	}
	copy(padded, ids)
	fmt.Println(tok.(*tokenizer.BPE).Decode(padded))
	// Output:
	// 8 ids, context 16
	// a photo of a red circle
}
