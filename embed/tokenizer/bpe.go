package tokenizer

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CLIP's special tokens as they appear in text and in vocabularies.
const (
	clipStartToken = "<|startoftext|>"
	clipEndToken   = "<|endoftext|>"
	// clipContext is the context length of every OpenAI CLIP text tower.
	clipContext = 77
	// openAIMerges is how many merges OpenAI's simple_tokenizer.py keeps.
	openAIMerges = 49152 - 256 - 2
	// maxCacheEntries bounds the word cache; it is cleared when full.
	maxCacheEntries = 1 << 17
)

// BPE is CLIP's byte-level BPE tokenizer with the semantics of OpenAI's
// simple_tokenizer.py: the text is NFC-normalised, HTML-unescaped twice,
// whitespace-collapsed, trimmed and lower-cased, split with CLIP's pattern,
// mapped byte by byte to unicode and merged with BPE ("</w>" marks the end of a
// word). It is safe for concurrent use.
type BPE struct {
	symbols  map[string]int32 // every string the merges can produce, interned
	symStr   []string         // symbol → string
	symID    []int64          // symbol → vocabulary id, -1 if not in the vocabulary
	merges   map[uint64]merge // (left<<32 | right) → merge
	byteSym  [256]int32       // symbol of a byte's unicode character
	byteEnd  [256]int32       // the same + end-of-word suffix
	vocab    map[string]int64 // token → id
	decoder  map[int64]string // id → token
	byteDec  map[rune]byte    // unicode character → byte
	suffix   string
	bos, eos int64
	unk      int64 // -1 when the vocabulary has no unknown token
	pad      int64
	ctx      int
	specials map[string]int64 // special tokens recognised inside text

	noCache bool
	cache   *wordCache
}

// wordCache maps a pre-token to its ids; it is shared by copies of a BPE.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int64
}

type merge struct {
	rank   int32
	result int32
}

// bytesToUnicode is simple_tokenizer.bytes_to_unicode: a reversible map from
// bytes to printable unicode characters.
func bytesToUnicode() [256]rune {
	var m [256]rune
	used := [256]bool{}
	for b := '!'; b <= '~'; b++ {
		used[b] = true
	}
	for b := '¡'; b <= '¬'; b++ {
		used[b] = true
	}
	for b := '®'; b <= 'ÿ'; b++ {
		used[b] = true
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if used[b] {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}

// byteOrder is the order in which simple_tokenizer lists the byte characters
// when it builds its vocabulary: the printable ranges first, then the rest.
func byteOrder() []int {
	order := make([]int, 0, 256)
	for b := '!'; b <= '~'; b++ {
		order = append(order, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		order = append(order, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		order = append(order, int(b))
	}
	seen := [256]bool{}
	for _, b := range order {
		seen[b] = true
	}
	for b := 0; b < 256; b++ {
		if !seen[b] {
			order = append(order, b)
		}
	}
	return order
}

// bpeSpec is what a BPE tokenizer is built from, whatever the file format.
type bpeSpec struct {
	vocab    map[string]int64
	merges   [][2]string
	suffix   string
	bos, eos int64
	unk      int64
	pad      int64
	ctx      int
	specials map[string]int64
	// strictMerges makes a merge whose parts or result are not in the
	// vocabulary an error (Hugging Face rejects such files).
	strictMerges bool
}

func newBPE(s bpeSpec) (*BPE, error) {
	if s.ctx < 2 {
		return nil, fmt.Errorf("context length %d is too small", s.ctx)
	}
	t := &BPE{
		symbols:  make(map[string]int32, len(s.vocab)+512),
		merges:   make(map[uint64]merge, len(s.merges)),
		vocab:    s.vocab,
		decoder:  make(map[int64]string, len(s.vocab)),
		byteDec:  make(map[rune]byte, 256),
		suffix:   s.suffix,
		bos:      s.bos,
		eos:      s.eos,
		unk:      s.unk,
		pad:      s.pad,
		ctx:      s.ctx,
		specials: s.specials,
		cache:    &wordCache{m: make(map[string][]int64)},
	}
	for tok, id := range s.vocab {
		if _, dup := t.decoder[id]; !dup || tok < t.decoder[id] {
			t.decoder[id] = tok
		}
	}
	b2u := bytesToUnicode()
	for b, r := range b2u {
		t.byteDec[r] = byte(b)
		t.byteSym[b] = t.intern(string(r))
		t.byteEnd[b] = t.intern(string(r) + s.suffix)
	}
	for rank, m := range s.merges {
		if s.strictMerges {
			for _, part := range []string{m[0], m[1], m[0] + m[1]} {
				if _, ok := s.vocab[part]; !ok {
					return nil, fmt.Errorf("merge %d (%q %q): token %q is not in the vocabulary", rank, m[0], m[1], part)
				}
			}
		}
		a, b, r := t.intern(m[0]), t.intern(m[1]), t.intern(m[0]+m[1])
		// A repeated pair takes its last rank, as dict(zip(merges, range(...))) does.
		t.merges[uint64(uint32(a))<<32|uint64(uint32(b))] = merge{rank: int32(rank), result: r}
	}
	t.symID = make([]int64, len(t.symStr))
	for i, str := range t.symStr {
		if id, ok := s.vocab[str]; ok {
			t.symID[i] = id
		} else {
			t.symID[i] = -1
		}
	}
	return t, nil
}

func (t *BPE) intern(s string) int32 {
	if id, ok := t.symbols[s]; ok {
		return id
	}
	id := int32(len(t.symStr))
	t.symbols[s] = id
	t.symStr = append(t.symStr, s)
	return id
}

// LoadCLIPMerges loads OpenAI's merges file (bpe_simple_vocab_16e6.txt.gz,
// gzip-compressed or not) and builds the vocabulary exactly as
// simple_tokenizer.py does: the 256 byte characters, the same with "</w>",
// the first 48894 merges joined, then <|startoftext|> and <|endoftext|>.
// The context length is 77 and the pad id 0.
func LoadCLIPMerges(path string) (*BPE, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open CLIP merges: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("read CLIP merges %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	t, err := ReadCLIPMerges(r)
	if err != nil {
		return nil, fmt.Errorf("read CLIP merges %s: %w", path, err)
	}
	return t, nil
}

// ReadCLIPMerges is LoadCLIPMerges for an uncompressed merges stream.
func ReadCLIPMerges(r io.Reader) (*BPE, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("merges file is not valid UTF-8")
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("merges file has no merges")
	}
	lines = lines[1:] // the version header
	if len(lines) > openAIMerges {
		lines = lines[:openAIMerges]
	}
	merges := make([][2]string, 0, len(lines))
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 && i == len(lines)-1 {
			break // trailing newline of a short file
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("merge on line %d: want 2 fields, got %d", i+2, len(f))
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	vocab := make(map[string]int64, 512+len(merges)+2)
	b2u := bytesToUnicode()
	order := byteOrder()
	var id int64
	add := func(tok string) {
		vocab[tok] = id // a repeated token keeps its last id, as dict(zip(...)) does
		id++
	}
	for _, b := range order {
		add(string(b2u[b]))
	}
	for _, b := range order {
		add(string(b2u[b]) + "</w>")
	}
	for _, m := range merges {
		add(m[0] + m[1])
	}
	add(clipStartToken)
	add(clipEndToken)
	return newBPE(bpeSpec{
		vocab:    vocab,
		merges:   merges,
		suffix:   "</w>",
		bos:      vocab[clipStartToken],
		eos:      vocab[clipEndToken],
		unk:      -1,
		pad:      0,
		ctx:      clipContext,
		specials: map[string]int64{clipStartToken: vocab[clipStartToken], clipEndToken: vocab[clipEndToken]},
	})
}

// ContextLength is the number of positions of the text tower (77 for CLIP).
func (t *BPE) ContextLength() int { return t.ctx }

// PadID is the id that pads a sequence to ContextLength.
func (t *BPE) PadID() int64 { return t.pad }

// StartID is the id of the start-of-text token.
func (t *BPE) StartID() int64 { return t.bos }

// EndID is the id of the end-of-text token.
func (t *BPE) EndID() int64 { return t.eos }

// VocabSize is the number of tokens in the vocabulary.
func (t *BPE) VocabSize() int { return len(t.vocab) }

// Encode returns the start id, the ids of text and the end id. A sequence
// longer than ContextLength is cut to ContextLength and its last id set to the
// end id, as clip.tokenize(truncate=True) does.
func (t *BPE) Encode(text string) []int64 {
	ids := make([]int64, 1, 16)
	ids[0] = t.bos
	t.encodeInto(cleanCLIP(text), &ids)
	ids = append(ids, t.eos)
	if len(ids) > t.ctx {
		ids = ids[:t.ctx]
		ids[t.ctx-1] = t.eos
	}
	return ids
}

// cleanCLIP is simple_tokenizer's whitespace_clean(basic_clean(text)).lower()
// with NFC normalisation standing in for ftfy.fix_text.
func cleanCLIP(text string) string {
	text = strings.ToValidUTF8(text, "\ufffd")
	text = norm.NFC.String(text)
	text = pyUnescape(pyUnescape(text))
	text = pyStrip(text)
	text = collapseSpace(text)
	text = pyStrip(text)
	return pyLower(text)
}

// encodeInto splits text with CLIP's pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// (case-insensitive, as compiled by simple_tokenizer) and appends the BPE ids
// of each piece. It stops once the sequence is longer than the context.
func (t *BPE) encodeInto(s string, ids *[]int64) {
	for i := 0; i < len(s); {
		if len(*ids) > t.ctx {
			return
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		var end int
		switch {
		case unicode.IsSpace(r):
			i += w
			continue
		case r == '<' && t.special(s[i:], ids) > 0:
			i += t.special(s[i:], nil)
			continue
		case r == '\'':
			if n := contraction(s[i+1:]); n > 0 {
				end = i + 1 + n
			} else {
				end = punctEnd(s, i)
			}
		case unicode.IsLetter(r):
			end = i + w
			for end < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[end:])
				if !unicode.IsLetter(r2) {
					break
				}
				end += w2
			}
		case unicode.IsNumber(r):
			end = i + w
		default:
			end = punctEnd(s, i)
		}
		t.appendWord(s[i:end], ids)
		i = end
	}
}

// special reports the length of the special token at the start of s (0 if
// there is none) and, when ids is not nil, appends its id.
func (t *BPE) special(s string, ids *[]int64) int {
	for _, tok := range [...]string{clipStartToken, clipEndToken} {
		if len(s) >= len(tok) && strings.EqualFold(s[:len(tok)], tok) {
			if id, ok := t.specials[tok]; ok {
				if ids != nil {
					*ids = append(*ids, id)
				}
				return len(tok)
			}
		}
	}
	return 0
}

// contraction returns the length of the contraction suffix ('s 't 're 've 'm
// 'll 'd, case-insensitively, so ſ and K count as s and k) at the start of s,
// or 0.
func contraction(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case 's', 'S', 't', 'T', 'm', 'M', 'd', 'D':
		return 1
	case 'r', 'R', 'v', 'V':
		if len(s) > 1 && (s[1] == 'e' || s[1] == 'E') {
			return 2
		}
	case 'l', 'L':
		if len(s) > 1 && (s[1] == 'l' || s[1] == 'L') {
			return 2
		}
	case 0xc5: // ſ (U+017F) folds to s
		if len(s) > 1 && s[1] == 0xbf {
			return 2
		}
	}
	return 0
}

// punctEnd returns the end of the run of characters that are neither
// whitespace, letters nor numbers starting at i.
func punctEnd(s string, i int) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || unicode.IsLetter(r) || unicode.IsNumber(r) {
			break
		}
		i += w
	}
	return i
}

// appendWord appends the BPE ids of one pre-token.
func (t *BPE) appendWord(word string, ids *[]int64) {
	if !t.noCache {
		t.cache.mu.RLock()
		cached, ok := t.cache.m[word]
		t.cache.mu.RUnlock()
		if ok {
			*ids = append(*ids, cached...)
			return
		}
	}
	out := t.bpe(word)
	*ids = append(*ids, out...)
	if t.noCache {
		return
	}
	t.cache.mu.Lock()
	if len(t.cache.m) >= maxCacheEntries {
		clear(t.cache.m)
	}
	t.cache.m[strings.Clone(word)] = out
	t.cache.mu.Unlock()
}

// bpe merges the byte characters of word, lowest-ranked pair first, every
// occurrence of that pair left to right, until no known pair remains.
func (t *BPE) bpe(word string) []int64 {
	var buf [64]int32
	syms := buf[:0]
	for i := 0; i < len(word)-1; i++ {
		syms = append(syms, t.byteSym[word[i]])
	}
	syms = append(syms, t.byteEnd[word[len(word)-1]])
	for len(syms) > 1 {
		best, bestRank := -1, int32(1<<31-1)
		var result int32
		for i := 0; i+1 < len(syms); i++ {
			m, ok := t.merges[uint64(uint32(syms[i]))<<32|uint64(uint32(syms[i+1]))]
			if ok && m.rank < bestRank {
				best, bestRank, result = i, m.rank, m.result
			}
		}
		if best < 0 {
			break
		}
		a, b := syms[best], syms[best+1]
		w := best
		for i := best; i < len(syms); {
			if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
				syms[w] = result
				i += 2
			} else {
				syms[w] = syms[i]
				i++
			}
			w++
		}
		syms = syms[:w]
	}
	out := make([]int64, 0, len(syms))
	for _, s := range syms {
		if id := t.symID[s]; id >= 0 {
			out = append(out, id)
		} else if t.unk >= 0 {
			out = append(out, t.unk)
		}
	}
	return out
}

// Tokens returns the token strings of text (without start and end tokens),
// for debugging.
func (t *BPE) Tokens(text string) []string {
	ids := t.Encode(text)
	out := make([]string, 0, len(ids))
	for _, id := range ids[1 : len(ids)-1] {
		out = append(out, t.decoder[id])
	}
	return out
}

// Decode turns ids back into text, for debugging: it stops at the first end
// id (what follows is padding), drops start ids, special tokens and unknown
// ids, turns "</w>" into a space and the byte characters back into bytes.
func (t *BPE) Decode(ids []int64) string {
	var b strings.Builder
	for _, id := range ids {
		if id == t.eos {
			break
		}
		if id == t.bos {
			continue
		}
		tok, ok := t.decoder[id]
		if !ok {
			continue
		}
		if _, special := t.specials[tok]; special {
			continue
		}
		b.WriteString(tok)
	}
	var raw []byte
	s := b.String()
	for len(s) > 0 {
		if t.suffix != "" && strings.HasPrefix(s, t.suffix) {
			raw = append(raw, ' ')
			s = s[len(t.suffix):]
			continue
		}
		r, w := utf8.DecodeRuneInString(s)
		if c, ok := t.byteDec[r]; ok {
			raw = append(raw, c)
		} else {
			raw = utf8.AppendRune(raw, r)
		}
		s = s[w:]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(raw), "\ufffd"))
}
