package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func checkIDs(t *testing.T, tok Tokenizer, cases []refCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(fmt.Sprintf("%.40q", c.Text), func(t *testing.T) {
			if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		})
	}
}

func TestCLIPReference(t *testing.T) {
	clipCases, _ := sharedCases(t)
	clip, _ := loadShared(t)
	if clip.ContextLength() != 77 || clip.PadID() != 0 || clip.StartID() != 49406 || clip.EndID() != 49407 || clip.VocabSize() != 49408 {
		t.Fatalf("context %d pad %d start %d end %d vocab %d, want 77 0 49406 49407 49408",
			clip.ContextLength(), clip.PadID(), clip.StartID(), clip.EndID(), clip.VocabSize())
	}
	checkIDs(t, clip, clipCases)
}

func TestWordPieceReference(t *testing.T) {
	_, cnCases := sharedCases(t)
	_, cn := loadShared(t)
	if cn.ContextLength() != 52 || cn.PadID() != 0 || cn.StartID() != 101 || cn.EndID() != 102 || cn.VocabSize() != 21128 {
		t.Fatalf("context %d pad %d cls %d sep %d vocab %d, want 52 0 101 102 21128",
			cn.ContextLength(), cn.PadID(), cn.StartID(), cn.EndID(), cn.VocabSize())
	}
	checkIDs(t, cn, cnCases)
}

// TestExtraCases checks edge-case strings (empty, whitespace only, long text,
// emoji, HTML entities, accents, mixed scripts, control characters, special
// tokens in text) against ids from testdata/reference.py.
func TestExtraCases(t *testing.T) {
	clip, cn := loadShared(t)
	clipCases, cnCases := extraCases(t)
	t.Run("clip_bpe", func(t *testing.T) { checkIDs(t, clip, clipCases) })
	t.Run("cn_wordpiece", func(t *testing.T) { checkIDs(t, cn, cnCases) })
}

// TestEncodeProperties checks properties that hold for any input.
func TestEncodeProperties(t *testing.T) {
	clip, cn := loadShared(t)
	long := strings.Repeat("photo ", 500)
	tests := []struct {
		name string
		tok  Tokenizer
		text string
		want int // expected length, -1 for "any"
	}{
		{"clip empty", clip, "", 2},
		{"clip whitespace", clip, " \t\n\u3000 ", 2},
		{"clip long", clip, long, 77},
		{"clip exactly 75 words", clip, strings.Repeat("a ", 75), 77},
		{"clip 76 words", clip, strings.Repeat("a ", 76), 77},
		{"clip invalid utf-8", clip, "a\xffb\xc0", -1},
		{"cn empty", cn, "", 2},
		{"cn whitespace", cn, " \t\n\u3000 ", 2},
		{"cn long", cn, strings.Repeat("猫", 500), 52},
		{"cn exactly 50", cn, strings.Repeat("猫", 50), 52},
		{"cn invalid utf-8", cn, "a\xffb\xc0", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := tc.tok.Encode(tc.text)
			checkShape(t, tc.tok, ids)
			if tc.want >= 0 && len(ids) != tc.want {
				t.Errorf("len(Encode(%.30q)) = %d, want %d", tc.text, len(ids), tc.want)
			}
		})
	}
	// A sequence exactly at the context is not cut; one id more is.
	if ids := clip.Encode(strings.Repeat("a ", 75)); ids[75] != 320 {
		t.Errorf("75 words: id 75 = %d, want the word's id 320", ids[75])
	}
	if ids := cn.Encode(strings.Repeat("猫", 51)); len(ids) != 52 || ids[50] != ids[1] {
		t.Errorf("51 characters: %v, want [CLS] + 50 + [SEP]", ids)
	}
}

// checkShape checks that ids start and end with the special tokens and fit
// the context.
func checkShape(t *testing.T, tok Tokenizer, ids []int64) {
	t.Helper()
	type ends interface{ StartID() int64 }
	type endsE interface{ EndID() int64 }
	if len(ids) < 2 || len(ids) > tok.ContextLength() {
		t.Fatalf("len = %d, want 2..%d", len(ids), tok.ContextLength())
	}
	if s, ok := tok.(ends); ok && ids[0] != s.StartID() {
		t.Errorf("first id %d, want start %d", ids[0], s.StartID())
	}
	if e, ok := tok.(endsE); ok && ids[len(ids)-1] != e.EndID() {
		t.Errorf("last id %d, want end %d", ids[len(ids)-1], e.EndID())
	}
}

// mergesToJSON builds the Hugging Face tokenizer.json equivalent of OpenAI's
// merges file, in the structure of openai/clip-vit-base-patch32's, with the
// merges written as "a b" strings or as [a, b] pairs.
func mergesToJSON(t *testing.T, path string, pairs bool) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")[1 : openAIMerges+1]
	b2u := bytesToUnicode()
	vocab := map[string]int{}
	for _, b := range byteOrder() {
		vocab[string(b2u[b])] = len(vocab)
	}
	for _, b := range byteOrder() {
		vocab[string(b2u[b])+"</w>"] = len(vocab)
	}
	var merges []any
	for _, l := range lines {
		p := strings.Fields(l)
		vocab[p[0]+p[1]] = len(vocab)
		if pairs {
			merges = append(merges, []string{p[0], p[1]})
		} else {
			merges = append(merges, p[0]+" "+p[1])
		}
	}
	sot, eot := len(vocab), len(vocab)+1
	vocab[clipStartToken], vocab[clipEndToken] = sot, eot
	doc := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{
			map[string]any{"id": sot, "content": clipStartToken, "special": true, "normalized": true},
			map[string]any{"id": eot, "content": clipEndToken, "special": true, "normalized": false},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFC"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": `\s+`}, "content": " "},
			map[string]any{"type": "Lowercase"},
		}},
		"post_processor": map[string]any{"type": "RobertaProcessing",
			"sep": []any{clipEndToken, eot}, "cls": []any{clipStartToken, sot}},
		"model": map[string]any{"type": "BPE", "unk_token": clipEndToken, "end_of_word_suffix": "</w>",
			"continuing_subword_prefix": "", "vocab": vocab, "merges": merges},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCLIPJSONMatchesMerges checks that a tokenizer.json holding the same
// vocabulary and merges as OpenAI's file gives identical ids.
func TestCLIPJSONMatchesMerges(t *testing.T) {
	clipCases, _ := sharedCases(t)
	extra, _ := extraCases(t)
	clip, _ := loadShared(t)
	for _, pairs := range []bool{false, true} {
		t.Run(fmt.Sprintf("pairs=%v", pairs), func(t *testing.T) {
			data := mergesToJSON(t, filepath.Join(sharedTokenizers(t), "bpe_simple_vocab_16e6.txt.gz"), pairs)
			tok, err := ParseJSON(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tok.ContextLength() != 77 || tok.PadID() != 0 {
				t.Errorf("context %d pad %d, want 77 0", tok.ContextLength(), tok.PadID())
			}
			for _, c := range append(slices.Clone(clipCases), extra...) {
				if got, want := tok.Encode(c.Text), clip.Encode(c.Text); !slices.Equal(got, want) {
					t.Errorf("Encode(%q): tokenizer.json %v, merges file %v", c.Text, got, want)
				}
				if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
					t.Errorf("Encode(%q) = %v, reference %v", c.Text, got, c.IDs)
				}
			}
		})
	}
}

// vocabToJSON builds a BERT tokenizer.json from a vocab.txt.
func vocabToJSON(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		vocab[l] = i
	}
	var added []any
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		added = append(added, map[string]any{"id": vocab[s], "content": s, "special": true, "normalized": false})
	}
	doc := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{vocab["[CLS]"]}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{vocab["[SEP]"]}, "tokens": []string{"[SEP]"}},
			}},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWordPieceJSONMatchesVocab checks that a BERT tokenizer.json built from
// Chinese-CLIP's vocab.txt gives identical ids, except that (as in Hugging
// Face) special tokens written in the text stay whole.
func TestWordPieceJSONMatchesVocab(t *testing.T) {
	_, cnCases := sharedCases(t)
	_, extra := extraCases(t)
	_, cn := loadShared(t)
	tok, err := ParseJSON(vocabToJSON(t, filepath.Join(sharedTokenizers(t), "chinese-clip-vocab.txt")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ContextLength() != 52 || tok.PadID() != 0 {
		t.Errorf("context %d pad %d, want 52 0", tok.ContextLength(), tok.PadID())
	}
	for _, c := range append(slices.Clone(cnCases), extra...) {
		if strings.Contains(c.Text, "[") {
			continue
		}
		if got, want := tok.Encode(c.Text), cn.Encode(c.Text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q): tokenizer.json %v, vocab.txt %v", c.Text, got, want)
		}
	}
	got := tok.Encode("a [MASK] b[SEP]")
	want := []int64{101, cn.vocab["a"], cn.vocab["[MASK]"], cn.vocab["b"], 102, 102}
	if !slices.Equal(got, want) {
		t.Errorf("special tokens in text: got %v, want %v", got, want)
	}
}

func loadTiny(t *testing.T) *BPE {
	t.Helper()
	tok, err := Load(filepath.Join("testdata", "tiny-bpe"))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := tok.(*BPE)
	if !ok {
		t.Fatalf("Load(tiny-bpe) = %T, want *BPE", tok)
	}
	return b
}

// TestTinyBPEJSON checks the tokenizer.json path on a small CLIP-format
// vocabulary with its own ids (testdata/tiny-bpe).
func TestTinyBPEJSON(t *testing.T) {
	tok := loadTiny(t)
	var file struct {
		Model struct {
			Vocab map[string]int64 `json:"vocab"`
		} `json:"model"`
	}
	readJSON(t, filepath.Join("testdata", "tiny-bpe", "tokenizer.json"), &file)
	v := file.Model.Vocab
	if tok.ContextLength() != 16 {
		t.Errorf("ContextLength = %d, want 16 from tokenizer_config.json", tok.ContextLength())
	}
	if tok.StartID() != v[clipStartToken] || tok.EndID() != v[clipEndToken] || tok.StartID() == 49406 {
		t.Errorf("start %d end %d, want the file's %d %d", tok.StartID(), tok.EndID(), v[clipStartToken], v[clipEndToken])
	}
	if tok.PadID() != 0 {
		t.Errorf("PadID = %d, want 0 (no padding config)", tok.PadID())
	}
	tests := []struct {
		text   string
		tokens []string
	}{
		{"A photo of a red circle", []string{"a</w>", "photo</w>", "of</w>", "a</w>", "red</w>", "circle</w>"}},
		{"a  PHOTO\tof a   red\nsquare.", []string{"a</w>", "photo</w>", "of</w>", "a</w>", "red</w>", "square</w>", ".</w>"}},
		{"photos", []string{"phot", "o", "s</w>"}},
		{"redo &amp; it's", []string{"re", "d", "o</w>", "&</w>", "i", "t</w>", "'", "s</w>"}},
		{"<|endoftext|>x", []string{clipEndToken, "x</w>"}},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			want := []int64{tok.StartID()}
			for _, s := range tc.tokens {
				id, ok := v[s]
				if !ok {
					t.Fatalf("token %q not in fixture", s)
				}
				want = append(want, id)
			}
			want = append(want, tok.EndID())
			if got := tok.Encode(tc.text); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v (%q)", tc.text, got, want, tc.tokens)
			}
		})
	}
	// Truncation at the context from tokenizer_config.json.
	ids := tok.Encode(strings.Repeat("red circle ", 20))
	if len(ids) != 16 || ids[15] != tok.EndID() || ids[14] != v["circle</w>"] {
		t.Errorf("long text: %v, want 16 ids ending in circle</w>, end", ids)
	}
	if got := tok.Decode(tok.Encode("A photo of a red circle")); got != "a photo of a red circle" {
		t.Errorf("Decode = %q", got)
	}
}

func TestWithContextLength(t *testing.T) {
	tiny := loadTiny(t)
	wp, err := ReadVocab(strings.NewReader("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokenizer{tiny, wp} {
		short, err := WithContextLength(tok, 4)
		if err != nil {
			t.Fatal(err)
		}
		ids := short.Encode("a a a a a a")
		checkShape(t, short, ids)
		if len(ids) != 4 || short.ContextLength() != 4 {
			t.Errorf("%T: %v, context %d, want 4 ids", tok, ids, short.ContextLength())
		}
		if tok.ContextLength() == 4 {
			t.Errorf("%T: the original changed", tok)
		}
		if _, err := WithContextLength(tok, 1); err == nil {
			t.Errorf("%T: context 1 accepted", tok)
		}
	}
}

// TestTinyBPEUnknown checks that characters missing from a tokenizer.json
// vocabulary become its unk token.
func TestTinyBPEUnknown(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tiny-bpe", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	model := doc["model"].(map[string]any)
	vocab := model["vocab"].(map[string]any)
	delete(vocab, "z</w>")
	data, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseJSON(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := tok.(*BPE)
	want := []int64{b.StartID(), b.vocab["a</w>"], b.EndID(), b.EndID()}
	if got := tok.Encode("a z"); !slices.Equal(got, want) {
		t.Errorf("Encode(a z) = %v, want %v (unk = end token)", got, want)
	}
	if tok.ContextLength() != 77 {
		t.Errorf("ContextLength = %d, want 77 without tokenizer_config.json", tok.ContextLength())
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{`, "parse tokenizer.json"},
		{"no vocab", `{"model":{"type":"BPE","vocab":{}}}`, "no vocabulary"},
		{"unigram", `{"model":{"type":"Unigram","vocab":{"a":0}}}`, `"Unigram" is not supported`},
		{"bad merge", `{"model":{"type":"BPE","vocab":{"a":0,"<|startoftext|>":1,"<|endoftext|>":2},"merges":["a"]}}`, "not two tokens"},
		{"merge out of vocab", `{"model":{"type":"BPE","vocab":{"a":0,"<|startoftext|>":1,"<|endoftext|>":2},"merges":["a b"]}}`, `"b" is not in the vocabulary`},
		{"no start", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`, "no start token"},
		{"wordpiece no unk", `{"model":{"type":"WordPiece","vocab":{"[CLS]":0,"[SEP]":1}}}`, `"[UNK]" is not in the vocabulary`},
		{"wordpiece no cls", `{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"[SEP]":1}}}`, "no [CLS]"},
		{"tiny context", `{"truncation":{"max_length":1},"model":{"type":"WordPiece","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2}}}`, "too small"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.doc), 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseJSON error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vocab := write("wp/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\nworld\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, "#version: 0.2\nh e\nl o</w>\nhe l\nhel lo</w>\n")
	zw.Close()
	merges := write("bpe/merges.txt.gz", gz.String())
	write("empty/readme.md", "nothing here")
	write("bad/vocab.txt", "")
	badGz := write("badgz/bpe_simple_vocab_16e6.txt.gz", "not gzip")

	t.Run("vocab.txt", func(t *testing.T) {
		tok, err := Load(vocab)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tok.Encode("Hellos WORLD hi"), []int64{2, 4, 5, 6, 1, 3}; !slices.Equal(got, want) {
			t.Errorf("Encode = %v, want %v", got, want)
		}
		if tok.ContextLength() != 52 || tok.PadID() != 0 {
			t.Errorf("context %d pad %d", tok.ContextLength(), tok.PadID())
		}
		if got := tok.(*WordPiece).Decode(tok.Encode("hellos world")); got != "hellos world" {
			t.Errorf("Decode = %q", got)
		}
	})
	t.Run("directory with vocab.txt", func(t *testing.T) {
		tok, err := Load(filepath.Join(dir, "wp"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tok.(*WordPiece); !ok {
			t.Errorf("got %T, want *WordPiece", tok)
		}
	})
	t.Run("merges.txt.gz", func(t *testing.T) {
		tok, err := Load(merges)
		if err != nil {
			t.Fatal(err)
		}
		b := tok.(*BPE)
		// 512 byte tokens, 4 merges, then the two specials.
		if b.StartID() != 516 || b.EndID() != 517 || b.VocabSize() != 518 {
			t.Errorf("start %d end %d size %d, want 516 517 518", b.StartID(), b.EndID(), b.VocabSize())
		}
		if got := b.Tokens("Hello hel"); !slices.Equal(got, []string{"hello</w>", "he", "l</w>"}) {
			t.Errorf("Tokens = %q", got)
		}
	})
	t.Run("tokenizer.json directory", func(t *testing.T) {
		if tok := loadTiny(t); tok.VocabSize() != 531 {
			t.Errorf("VocabSize = %d, want 531", tok.VocabSize())
		}
	})
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.txt"), "nope.txt"},
		{"empty directory", filepath.Join(dir, "empty"), "no tokenizer.json, vocab.txt, bpe_simple_vocab_16e6.txt.gz in"},
		{"unknown extension", filepath.Join(dir, "empty", "readme.md"), "readme.md is not a tokenizer file"},
		{"empty vocab", filepath.Join(dir, "bad", "vocab.txt"), "vocabulary is empty"},
		{"bad gzip", badGz, badGz},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%s) error = %v, want one containing %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestConcurrentEncode exercises the word cache from many goroutines; run
// with -race.
func TestConcurrentEncode(t *testing.T) {
	clip, cn := loadShared(t)
	clipCases, cnCases := sharedCases(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, c := range clipCases {
					if got := clip.Encode(c.Text); !slices.Equal(got, c.IDs) {
						t.Errorf("concurrent Encode(%q) = %v", c.Text, got)
						return
					}
				}
				for _, c := range cnCases {
					if got := cn.Encode(c.Text); !slices.Equal(got, c.IDs) {
						t.Errorf("concurrent Encode(%q) = %v", c.Text, got)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPythonHelpers checks the helpers that mirror Python's string functions.
func TestPythonHelpers(t *testing.T) {
	unescape := []struct{ in, want string }{
		{"a &amp; b", "a & b"},
		{"&amp;amp;", "&amp;"},
		{"&lt;tag&gt;", "<tag>"},
		{"&copy 2024", "© 2024"},
		{"&notit;", "¬it;"},
		{"&ampx", "&x"},
		{"&#65;&#x42;&#X43", "ABC"},
		{"&#0;", "\ufffd"},
		{"&#1;x", "x"},
		{"&#128;", "€"},
		{"&#x81;", "\u0081"},
		{"&#xD800;", "\ufffd"},
		{"&#99999999999999999999999;", "\ufffd"},
		{"&#xFFFF;&#x10FFFE;", ""},
		{"& ; &; &# &#x;", "& ; &; &# &#x;"},
		{"&NotEqualTilde;", "\u2242\u0338"},
	}
	for _, tc := range unescape {
		if got := pyUnescape(tc.in); got != tc.want {
			t.Errorf("pyUnescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	lower := []struct{ in, want string }{
		{"HELLO", "hello"},
		{"İ", "i\u0307"},
		{"ΟΔΟΣ", "οδος"},
		{"ΣΑΣ ΟΔΟΣ.", "σας οδος."},
		{"Σ", "σ"},
		{"ΑΣ'Α", "ασ'α"},
	}
	for _, tc := range lower {
		if got := pyLower(tc.in); got != tc.want {
			t.Errorf("pyLower(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := collapseSpace(" a\u00a0\u3000b \t\nc "); got != " a b c " {
		t.Errorf("collapseSpace = %q", got)
	}
	if got := pyStrip("\x1c a \x1f"); got != "a" {
		t.Errorf("pyStrip = %q", got)
	}
}
