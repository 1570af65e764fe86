package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzTokenizers returns the fixture tokenizers, plus the reference ones when
// ../shared is present (fuzzing does not require it).
func fuzzTokenizers(f *testing.F) []Tokenizer {
	f.Helper()
	tiny, err := Load(filepath.Join("testdata", "tiny-bpe", "tokenizer.json"))
	if err != nil {
		f.Fatal(err)
	}
	wp, err := ReadVocab(strings.NewReader("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##b\n猫\n,\n##ab\nabc\n"))
	if err != nil {
		f.Fatal(err)
	}
	toks := []Tokenizer{tiny, wp}
	wd, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	dir := filepath.Join(wd, "..", "..", "..", "shared", "clip-reference", "tokenizers")
	if clip, err := LoadCLIPMerges(filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz")); err == nil {
		toks = append(toks, clip)
	}
	if cn, err := LoadVocab(filepath.Join(dir, "chinese-clip-vocab.txt")); err == nil {
		toks = append(toks, cn)
	}
	return toks
}

// FuzzEncode checks that Encode never panics, always returns start … end
// within the context, only returns ids of the vocabulary, and is stable.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{
		"", " ", "a photo of a cat", "it's &amp; <|endoftext|>", "长颈鹿 CLIP", "\xff\xfe", "&#", "&#x;",
		"ΣΑΣ İ", "🐱‍👤", strings.Repeat("ab", 300), "\x00\x1c\u2028", "[CLS]a[SEP]",
	} {
		f.Add(s)
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s)
			checkShape(t, tok, ids)
			for _, id := range ids {
				if !knownID(tok, id) {
					t.Fatalf("%T.Encode(%q) returned id %d, not in the vocabulary", tok, s, id)
				}
			}
			if again := tok.Encode(s); !slices.Equal(ids, again) {
				t.Fatalf("%T.Encode(%q) not stable: %v then %v", tok, s, ids, again)
			}
		}
	})
}

func knownID(tok Tokenizer, id int64) bool {
	switch tk := tok.(type) {
	case *BPE:
		_, ok := tk.decoder[id]
		return ok
	case *WordPiece:
		_, ok := tk.decoder[id]
		return ok
	}
	return false
}
