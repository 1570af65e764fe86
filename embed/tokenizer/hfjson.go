package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// hfFile is the part of a Hugging Face tokenizer.json that the tokenizers use.
type hfFile struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Truncation    *struct {
		MaxLength int `json:"max_length"`
	} `json:"truncation"`
	Padding *struct {
		PadID    *int64 `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	Model struct {
		Type                    string            `json:"type"`
		Vocab                   map[string]int64  `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int               `json:"max_input_chars_per_word"`
		UnkToken                *string           `json:"unk_token"`
	} `json:"model"`
}

// hfConfig is the part of tokenizer_config.json that the tokenizers use.
type hfConfig struct {
	ModelMaxLength *float64 `json:"model_max_length"`
	DoLowerCase    *bool    `json:"do_lower_case"`
}

// LoadJSON loads a Hugging Face tokenizer.json whose model is BPE (CLIP) or
// WordPiece (BERT, Chinese-CLIP). The context length comes from
// model_max_length in a tokenizer_config.json beside it, else from the file's
// truncation.max_length, else 77 (BPE) or 52 (WordPiece).
func LoadJSON(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer: %w", err)
	}
	ctx := 0
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if cfgData, err := os.ReadFile(cfgPath); err == nil {
		var cfg hfConfig
		if err := json.Unmarshal(cfgData, &cfg); err != nil {
			return nil, fmt.Errorf("parse %s: %w", cfgPath, err)
		}
		// Transformers writes a huge number when the length is unset.
		if cfg.ModelMaxLength != nil && *cfg.ModelMaxLength >= 2 && *cfg.ModelMaxLength <= 1<<20 {
			ctx = int(*cfg.ModelMaxLength)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", cfgPath, err)
	}
	t, err := ParseJSON(data, ctx)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	return t, nil
}

// ParseJSON builds a tokenizer from the contents of a tokenizer.json.
// contextLength overrides the file's truncation length when positive.
//
// A BPE model is run with CLIP's text cleaning (NFC, HTML unescape twice,
// whitespace collapse, lower case) and CLIP's split pattern, whatever the
// file's normalizer says, so that ids match OpenAI's tokenizer; the start and
// end tokens come from the post-processor or the added tokens. A WordPiece
// model follows the file's BertNormalizer flags and splits added special
// tokens out of the raw text first, as Hugging Face does.
func ParseJSON(data []byte, contextLength int) (Tokenizer, error) {
	var f hfFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, errors.New("tokenizer.json: model has no vocabulary")
	}
	typ := f.Model.Type
	if typ == "" {
		switch {
		case f.Model.Merges != nil:
			typ = "BPE"
		case f.Model.ContinuingSubwordPrefix != nil:
			typ = "WordPiece"
		}
	}
	ctx := contextLength
	if ctx <= 0 && f.Truncation != nil && f.Truncation.MaxLength > 0 {
		ctx = f.Truncation.MaxLength
	}
	switch typ {
	case "BPE":
		if ctx <= 0 {
			ctx = clipContext
		}
		return bpeFromJSON(&f, ctx)
	case "WordPiece":
		if ctx <= 0 {
			ctx = chineseCLIPContext
		}
		return wordPieceFromJSON(&f, ctx)
	default:
		return nil, fmt.Errorf("tokenizer.json: model type %q is not supported (want BPE or WordPiece)", f.Model.Type)
	}
}

// tokenID looks a token up in the added tokens, then in the vocabulary.
func (f *hfFile) tokenID(tok string) (int64, bool) {
	for _, a := range f.AddedTokens {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := f.Model.Vocab[tok]
	return id, ok
}

// postTokens returns the start (cls) and end (sep) tokens that the
// post-processor puts around a single sequence, if it says.
func postTokens(raw json.RawMessage) (start, end *hfSpecial, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	var p struct {
		Type       string            `json:"type"`
		Cls        []json.RawMessage `json:"cls"`
		Sep        []json.RawMessage `json:"sep"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct{} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			ID  string  `json:"id"`
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	switch p.Type {
	case "RobertaProcessing", "BertProcessing":
		start, err = pairToken(p.Cls)
		if err == nil {
			end, err = pairToken(p.Sep)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("post_processor %s: %w", p.Type, err)
		}
		return start, end, nil
	case "TemplateProcessing":
		seenSeq := false
		for _, piece := range p.Single {
			switch {
			case piece.Sequence != nil:
				seenSeq = true
			case piece.SpecialToken != nil:
				st, ok := p.SpecialTokens[piece.SpecialToken.ID]
				if !ok || len(st.IDs) != 1 {
					return nil, nil, fmt.Errorf("post_processor template: special token %q needs exactly one id", piece.SpecialToken.ID)
				}
				tok := &hfSpecial{content: piece.SpecialToken.ID, id: st.IDs[0]}
				if seenSeq {
					end = tok
				} else {
					start = tok
				}
			}
		}
		return start, end, nil
	case "Sequence":
		for _, sub := range p.Processors {
			s, e, err := postTokens(sub)
			if err != nil {
				return nil, nil, err
			}
			if s != nil {
				start = s
			}
			if e != nil {
				end = e
			}
		}
		return start, end, nil
	}
	return nil, nil, nil
}

type hfSpecial struct {
	content string
	id      int64
}

// pairToken decodes a ["token", id] pair.
func pairToken(raw []json.RawMessage) (*hfSpecial, error) {
	if len(raw) != 2 {
		return nil, fmt.Errorf("want [token, id], got %d elements", len(raw))
	}
	var s hfSpecial
	if err := json.Unmarshal(raw[0], &s.content); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw[1], &s.id); err != nil {
		return nil, err
	}
	return &s, nil
}

// specialID resolves the start or end token: the post-processor's, else the
// named token among the added tokens or in the vocabulary.
func (f *hfFile) specialID(fromPost *hfSpecial, names ...string) (int64, string, bool) {
	if fromPost != nil {
		return fromPost.id, fromPost.content, true
	}
	for _, n := range names {
		if id, ok := f.tokenID(n); ok {
			return id, n, true
		}
	}
	return 0, "", false
}

func (f *hfFile) padID(fallback string) int64 {
	if f.Padding != nil {
		if f.Padding.PadID != nil {
			return *f.Padding.PadID
		}
		if id, ok := f.tokenID(f.Padding.PadToken); ok && f.Padding.PadToken != "" {
			return id
		}
	}
	if fallback != "" {
		if id, ok := f.tokenID(fallback); ok {
			return id
		}
	}
	return 0
}

func bpeFromJSON(f *hfFile, ctx int) (*BPE, error) {
	merges := make([][2]string, 0, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		var pair [2]string
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			parts := strings.Split(s, " ")
			if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
				return nil, fmt.Errorf("tokenizer.json: merge %d %q is not two tokens separated by a space", i, s)
			}
			pair = [2]string{parts[0], parts[1]}
		} else {
			var arr []string
			if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 2 {
				return nil, fmt.Errorf("tokenizer.json: merge %d is neither \"a b\" nor [a, b]", i)
			}
			pair = [2]string{arr[0], arr[1]}
		}
		merges = append(merges, pair)
	}
	start, end, err := postTokens(f.PostProcessor)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	bos, _, ok := f.specialID(start, clipStartToken, "<s>", "<|begin_of_text|>")
	if !ok {
		return nil, errors.New("tokenizer.json: no start token (post_processor cls or " + clipStartToken + ")")
	}
	eos, _, ok := f.specialID(end, clipEndToken, "</s>")
	if !ok {
		return nil, errors.New("tokenizer.json: no end token (post_processor sep or " + clipEndToken + ")")
	}
	suffix := ""
	if f.Model.EndOfWordSuffix != nil {
		suffix = *f.Model.EndOfWordSuffix
	}
	unk := int64(-1)
	if f.Model.UnkToken != nil {
		id, ok := f.tokenID(*f.Model.UnkToken)
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: unk_token %q is not in the vocabulary", *f.Model.UnkToken)
		}
		unk = id
	}
	specials := map[string]int64{}
	for _, tok := range []string{clipStartToken, clipEndToken} {
		if id, ok := f.tokenID(tok); ok {
			specials[tok] = id
		}
	}
	vocab := make(map[string]int64, len(f.Model.Vocab)+len(f.AddedTokens))
	for k, v := range f.Model.Vocab {
		vocab[k] = v
	}
	for _, a := range f.AddedTokens {
		if _, ok := vocab[a.Content]; !ok {
			vocab[a.Content] = a.ID
		}
	}
	t, err := newBPE(bpeSpec{
		vocab: vocab, merges: merges, suffix: suffix,
		bos: bos, eos: eos, unk: unk, pad: f.padID(""), ctx: ctx,
		specials: specials, strictMerges: true,
	})
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

func wordPieceFromJSON(f *hfFile, ctx int) (*WordPiece, error) {
	spec := wordPieceSpec{
		vocab: f.Model.Vocab, prefix: "##", maxChars: maxWordChars, unk: "[UNK]", ctx: ctx,
		lower: true, stripAccents: true, chinese: true, clean: true,
	}
	if p := f.Model.ContinuingSubwordPrefix; p != nil {
		spec.prefix = *p
	}
	if f.Model.MaxInputCharsPerWord > 0 {
		spec.maxChars = f.Model.MaxInputCharsPerWord
	}
	if f.Model.UnkToken != nil {
		spec.unk = *f.Model.UnkToken
	}
	if err := bertNormalizer(f.Normalizer, &spec); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	start, end, err := postTokens(f.PostProcessor)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	var ok bool
	if spec.cls, _, ok = f.specialID(start, "[CLS]"); !ok {
		return nil, errors.New("tokenizer.json: no [CLS] token")
	}
	if spec.sep, _, ok = f.specialID(end, "[SEP]"); !ok {
		return nil, errors.New("tokenizer.json: no [SEP] token")
	}
	spec.pad = f.padID("[PAD]")
	for _, a := range f.AddedTokens {
		if a.Special && a.Content != "" {
			spec.specials = append(spec.specials, specialToken{content: a.Content, id: a.ID})
		}
	}
	sort.SliceStable(spec.specials, func(i, j int) bool {
		return len(spec.specials[i].content) > len(spec.specials[j].content)
	})
	t, err := newWordPiece(spec)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

// bertNormalizer reads a BertNormalizer (possibly inside a Sequence) into spec.
func bertNormalizer(raw json.RawMessage, spec *wordPieceSpec) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var n struct {
		Type               string            `json:"type"`
		CleanText          *bool             `json:"clean_text"`
		HandleChineseChars *bool             `json:"handle_chinese_chars"`
		StripAccents       *bool             `json:"strip_accents"`
		Lowercase          *bool             `json:"lowercase"`
		Normalizers        []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("normalizer: %w", err)
	}
	switch n.Type {
	case "Sequence":
		for _, sub := range n.Normalizers {
			if err := bertNormalizer(sub, spec); err != nil {
				return err
			}
		}
	case "BertNormalizer":
		if n.CleanText != nil {
			spec.clean = *n.CleanText
		}
		if n.HandleChineseChars != nil {
			spec.chinese = *n.HandleChineseChars
		}
		if n.Lowercase != nil {
			spec.lower = *n.Lowercase
		}
		spec.stripAccents = spec.lower // strip_accents: null follows lowercase
		if n.StripAccents != nil {
			spec.stripAccents = *n.StripAccents
		}
	}
	return nil
}
