// Package tokenizer implements CLIP's byte-level BPE and BERT WordPiece
// tokenizers in pure Go.
package tokenizer

import "errors"

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

// Load loads a tokenizer from path. TODO(tokenizer helper): implement.
func Load(path string) (Tokenizer, error) { return nil, errors.New("tokenizer: not implemented") }
