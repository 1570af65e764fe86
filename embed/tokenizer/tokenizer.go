// Package tokenizer implements CLIP's byte-level BPE and BERT WordPiece
// tokenizers in pure Go.
//
// Both produce exactly the ids of the reference implementations: BPE follows
// OpenAI's simple_tokenizer.py (with NFC normalisation standing in for
// ftfy.fix_text) and WordPiece follows BERT's tokenizer as Chinese-CLIP uses
// it. Load picks the tokenizer from a file or a model directory.
package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer turns text into token ids for a CLIP text tower.
type Tokenizer interface {
	// Encode returns the ids of text with the start and end tokens, truncated
	// as the reference implementation truncates, before any padding.
	Encode(text string) []int64
	// ContextLength is the length the text tower expects (77 for CLIP, 52 for Chinese-CLIP).
	ContextLength() int
	// PadID is the id used to pad Encode's result to ContextLength.
	PadID() int64
}

// Both tokenizers implement Tokenizer.
var (
	_ Tokenizer = (*BPE)(nil)
	_ Tokenizer = (*WordPiece)(nil)
)

// Names of the files Load looks for in a directory, in this order.
var dirFiles = []string{"tokenizer.json", "vocab.txt", "bpe_simple_vocab_16e6.txt.gz"}

// Load loads a tokenizer from path:
//   - a .gz file (OpenAI's bpe_simple_vocab_16e6.txt.gz): CLIP BPE, context 77;
//   - a .txt file (vocab.txt): lower-casing BERT WordPiece, context 52;
//   - a .json file (tokenizer.json): the BPE or WordPiece model it describes;
//   - a directory: the first of tokenizer.json, vocab.txt and
//     bpe_simple_vocab_16e6.txt.gz found in it.
func Load(path string) (Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	if fi.IsDir() {
		for _, name := range dirFiles {
			p := filepath.Join(path, name)
			if _, err := os.Stat(p); err == nil {
				return loadFile(p)
			}
		}
		return nil, fmt.Errorf("load tokenizer: no %s in %s", strings.Join(dirFiles, ", "), path)
	}
	return loadFile(path)
}

func loadFile(path string) (Tokenizer, error) {
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		return LoadCLIPMerges(path)
	case strings.HasSuffix(lower, ".txt"):
		return LoadVocab(path)
	case strings.HasSuffix(lower, ".json"):
		return LoadJSON(path)
	}
	return nil, errors.New("load tokenizer: " + path + " is not a tokenizer file (want tokenizer.json, vocab.txt or bpe_simple_vocab_16e6.txt.gz)")
}

// WithContextLength returns a tokenizer like t whose ContextLength is n (at
// least 2), for a text tower whose length differs from what the tokenizer
// files say (Chinese-CLIP's Hugging Face files say 512 where the model was
// trained with 52, for example). It shares t's vocabulary.
func WithContextLength(t Tokenizer, n int) (Tokenizer, error) {
	if n < 2 {
		return nil, fmt.Errorf("context length %d is too small (want at least 2)", n)
	}
	switch tk := t.(type) {
	case *BPE:
		c := *tk
		c.ctx = n
		return &c, nil
	case *WordPiece:
		c := *tk
		c.ctx = n
		return &c, nil
	}
	return nil, fmt.Errorf("context length of %T cannot be changed", t)
}
