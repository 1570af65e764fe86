package tokenizer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// chineseCLIPContext is Chinese-CLIP's text context length.
	chineseCLIPContext = 52
	// maxWordChars is BERT's max_input_chars_per_word.
	maxWordChars = 100
)

// WordPiece is BERT's tokenizer as Chinese-CLIP uses it: basic tokenisation
// (control characters dropped, whitespace normalised, spaces around every CJK
// character, lower case, accents stripped, punctuation split), then greedy
// longest-match-first WordPiece with "##" continuations. It is safe for
// concurrent use.
type WordPiece struct {
	vocab        map[string]int64 // word-initial pieces
	cont         map[string]int64 // continuation pieces, without their prefix
	decoder      map[int64]string
	prefix       string
	maxChars     int
	unk          int64
	cls, sep     int64
	pad          int64
	ctx          int
	lower        bool
	stripAccents bool
	chinese      bool
	clean        bool
	// specials are tokens matched verbatim in the raw text before anything
	// else (Hugging Face's added special tokens); longest first.
	specials []specialToken
}

type specialToken struct {
	content string
	id      int64
}

// wordPieceSpec is what a WordPiece tokenizer is built from.
type wordPieceSpec struct {
	vocab        map[string]int64
	prefix       string
	maxChars     int
	unk          string
	cls, sep     int64
	pad          int64
	ctx          int
	lower        bool
	stripAccents bool
	chinese      bool
	clean        bool
	specials     []specialToken
}

func newWordPiece(s wordPieceSpec) (*WordPiece, error) {
	if s.ctx < 2 {
		return nil, fmt.Errorf("context length %d is too small", s.ctx)
	}
	unk, ok := s.vocab[s.unk]
	if !ok {
		return nil, fmt.Errorf("unknown token %q is not in the vocabulary", s.unk)
	}
	t := &WordPiece{
		vocab:        s.vocab,
		cont:         make(map[string]int64),
		decoder:      make(map[int64]string, len(s.vocab)),
		prefix:       s.prefix,
		maxChars:     s.maxChars,
		unk:          unk,
		cls:          s.cls,
		sep:          s.sep,
		pad:          s.pad,
		ctx:          s.ctx,
		lower:        s.lower,
		stripAccents: s.stripAccents,
		chinese:      s.chinese,
		clean:        s.clean,
		specials:     s.specials,
	}
	for tok, id := range s.vocab {
		if s.prefix != "" && strings.HasPrefix(tok, s.prefix) {
			t.cont[tok[len(s.prefix):]] = id
		}
		if old, dup := t.decoder[id]; !dup || tok < old {
			t.decoder[id] = tok
		}
	}
	return t, nil
}

// LoadVocab loads a BERT vocab.txt (one token a line, id = line number from 0)
// as a lower-casing WordPiece tokenizer with Chinese-CLIP's settings:
// context 52, [CLS]/[SEP] around at most 50 ids, [PAD] as the pad id.
func LoadVocab(path string) (*WordPiece, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open WordPiece vocabulary: %w", err)
	}
	defer f.Close()
	t, err := ReadVocab(f)
	if err != nil {
		return nil, fmt.Errorf("read WordPiece vocabulary %s: %w", path, err)
	}
	return t, nil
}

// ReadVocab is LoadVocab for a stream.
func ReadVocab(r io.Reader) (*WordPiece, error) {
	vocab := make(map[string]int64, 32000)
	br := bufio.NewReader(r)
	var id int64
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if !utf8.ValidString(line) {
				return nil, fmt.Errorf("line %d is not valid UTF-8", id+1)
			}
			vocab[line] = id // a repeated token keeps its last id
			id++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("vocabulary is empty")
	}
	var missing []string
	lookup := func(tok string) int64 {
		id, ok := vocab[tok]
		if !ok {
			missing = append(missing, tok)
		}
		return id
	}
	cls, sep := lookup("[CLS]"), lookup("[SEP]")
	if len(missing) > 0 {
		return nil, fmt.Errorf("vocabulary lacks %s", strings.Join(missing, " and "))
	}
	pad := vocab["[PAD]"] // 0 when absent
	return newWordPiece(wordPieceSpec{
		vocab: vocab, prefix: "##", maxChars: maxWordChars, unk: "[UNK]",
		cls: cls, sep: sep, pad: pad, ctx: chineseCLIPContext,
		lower: true, stripAccents: true, chinese: true, clean: true,
	})
}

// ContextLength is the number of positions of the text tower (52 for Chinese-CLIP).
func (t *WordPiece) ContextLength() int { return t.ctx }

// PadID is the id that pads a sequence to ContextLength ([PAD]).
func (t *WordPiece) PadID() int64 { return t.pad }

// StartID is the id of [CLS].
func (t *WordPiece) StartID() int64 { return t.cls }

// EndID is the id of [SEP].
func (t *WordPiece) EndID() int64 { return t.sep }

// VocabSize is the number of tokens in the vocabulary.
func (t *WordPiece) VocabSize() int { return len(t.vocab) }

// Encode returns [CLS], at most ContextLength-2 ids of text, and [SEP], as
// Chinese-CLIP's tokenize does.
func (t *WordPiece) Encode(text string) []int64 {
	limit := t.ctx - 2
	ids := make([]int64, 1, 16)
	ids[0] = t.cls
	text = strings.ToValidUTF8(text, "\ufffd")
	for text != "" && len(ids)-1 < limit {
		seg, sp, rest := t.nextSpecial(text)
		t.encodeSegment(seg, &ids, limit+1)
		if sp != nil && len(ids)-1 < limit {
			ids = append(ids, sp.id)
		}
		text = rest
	}
	if len(ids)-1 > limit {
		ids = ids[:limit+1]
	}
	return append(ids, t.sep)
}

// nextSpecial splits text at the first special token: the text before it, the
// token (nil if none) and the text after it.
func (t *WordPiece) nextSpecial(text string) (string, *specialToken, string) {
	if len(t.specials) == 0 {
		return text, nil, ""
	}
	best, bestAt := -1, len(text)
	for i := range t.specials {
		if at := strings.Index(text, t.specials[i].content); at >= 0 && at < bestAt {
			best, bestAt = i, at
		}
	}
	if best < 0 {
		return text, nil, ""
	}
	sp := &t.specials[best]
	return text[:bestAt], sp, text[bestAt+len(sp.content):]
}

// encodeSegment appends the ids of text (no special tokens in it) until ids
// holds max entries.
func (t *WordPiece) encodeSegment(text string, ids *[]int64, max int) {
	for _, word := range t.basicTokens(text) {
		if len(*ids) >= max {
			return
		}
		t.wordPiece(word, ids)
	}
}

// basicTokens is BERT's BasicTokenizer.tokenize.
func (t *WordPiece) basicTokens(text string) []string {
	var b strings.Builder
	b.Grow(len(text) + 16)
	for _, r := range text {
		if t.clean {
			if r == 0 || r == 0xfffd || isControl(r) {
				continue
			}
			if isBertWhitespace(r) {
				b.WriteByte(' ')
				continue
			}
		}
		if t.chinese && isCJK(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	var out []string
	for _, tok := range strings.FieldsFunc(b.String(), pyIsSpace) {
		if t.lower {
			tok = pyLower(tok)
		}
		if t.stripAccents {
			tok = stripAccents(tok)
		}
		out = splitPunct(tok, out)
	}
	return out
}

// wordPiece appends the greedy longest-match-first pieces of word, or the
// unknown id when the word is too long or cannot be covered.
func (t *WordPiece) wordPiece(word string, ids *[]int64) {
	if utf8.RuneCountInString(word) > t.maxChars {
		*ids = append(*ids, t.unk)
		return
	}
	mark := len(*ids)
	for start := 0; start < len(word); {
		table := t.vocab
		if start > 0 {
			table = t.cont
		}
		end := len(word)
		found := false
		for end > start {
			if id, ok := table[word[start:end]]; ok {
				*ids = append(*ids, id)
				found = true
				break
			}
			_, w := utf8.DecodeLastRuneInString(word[start:end])
			end -= w
		}
		if !found {
			*ids = append((*ids)[:mark], t.unk)
			return
		}
		start = end
	}
}

// isControl is BERT's _is_control: general category C* except \t \n \r.
// Unassigned code points (Cn) count.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !assigned(r)
}

// assigned reports whether r has a general category other than Cn. (Go's
// unicode.C table also holds unassigned code points, so the C categories are
// listed one by one.)
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
		unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isBertWhitespace is BERT's _is_whitespace: space, \t, \n, \r or Zs.
func isBertWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isPunct is BERT's _is_punctuation: ASCII symbols and general category P*.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return r >= utf8.RuneSelf && unicode.IsPunct(r)
}

// isCJK is BERT's _is_chinese_char.
func isCJK(r rune) bool {
	return (r >= 0x4e00 && r <= 0x9fff) || (r >= 0x3400 && r <= 0x4dbf) ||
		(r >= 0x20000 && r <= 0x2a6df) || (r >= 0x2a700 && r <= 0x2b73f) ||
		(r >= 0x2b740 && r <= 0x2b81f) || (r >= 0x2b820 && r <= 0x2ceaf) ||
		(r >= 0xf900 && r <= 0xfaff) || (r >= 0x2f800 && r <= 0x2fa1f)
}

// stripAccents is NFD followed by removing non-spacing marks (Mn).
func stripAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	if norm.NFD.IsNormalString(s) {
		hasMn := false
		for _, r := range s {
			if r >= 0x300 && unicode.Is(unicode.Mn, r) {
				hasMn = true
				break
			}
		}
		if !hasMn {
			return s
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitPunct appends to out the pieces of tok split around every punctuation
// character, each punctuation character its own piece.
func splitPunct(tok string, out []string) []string {
	start := 0
	for i, r := range tok {
		if isPunct(r) {
			if i > start {
				out = append(out, tok[start:i])
			}
			w := utf8.RuneLen(r)
			out = append(out, tok[i:i+w])
			start = i + w
		}
	}
	if start < len(tok) {
		out = append(out, tok[start:])
	}
	return out
}

// Tokens returns the WordPiece strings of text (without [CLS] and [SEP]), for
// debugging.
func (t *WordPiece) Tokens(text string) []string {
	ids := t.Encode(text)
	out := make([]string, 0, len(ids))
	for _, id := range ids[1 : len(ids)-1] {
		out = append(out, t.decoder[id])
	}
	return out
}

// Decode joins the pieces of ids into text: [CLS], [SEP] and pad ids are
// dropped and "##" continuations are glued to the piece before them.
func (t *WordPiece) Decode(ids []int64) string {
	var b strings.Builder
	for _, id := range ids {
		if id == t.cls || id == t.sep || id == t.pad {
			continue
		}
		tok, ok := t.decoder[id]
		if !ok {
			continue
		}
		if t.prefix != "" && strings.HasPrefix(tok, t.prefix) {
			b.WriteString(tok[len(t.prefix):])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tok)
	}
	return b.String()
}
