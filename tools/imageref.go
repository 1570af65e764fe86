package tools

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cliprag/cliprag/embed/preprocess"
	"strings"

	"github.com/cliprag/cliprag/retriever"
)

// resolved is an image reference turned into an embedding.
type resolved struct {
	vec  []float32
	id   string // set for id references
	path string // resolved file, set for path references
	// contentID is the record id the image's bytes would have in the
	// index (set for paths, data URIs and URLs), so that an example whose
	// content is already indexed can be told apart from its look-alikes.
	contentID string
	desc      string // for messages and SearchOutput.Query
}

// RefFromString guesses an ImageRef from one string, for front ends that
// take a single argument: "data:..." is a data URI, "http://" and
// "https://" a URL, a UUID an indexed image id, anything else a path. A
// path is kept exactly as given (file names may begin or end with spaces).
func RefFromString(s string) ImageRef {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "data:"):
		return ImageRef{DataURI: t}
	case strings.HasPrefix(t, "http://"), strings.HasPrefix(t, "https://"):
		return ImageRef{URL: t}
	case strings.HasPrefix(t, "image://"):
		return ImageRef{ID: strings.TrimPrefix(t, "image://")}
	case isUUID(t):
		return ImageRef{ID: t}
	}
	return ImageRef{Path: s}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// resolve embeds the image ref names. field names the argument in errors.
func (s *Service) resolve(ctx context.Context, field string, ref ImageRef) (resolved, error) {
	if err := checkOneRef(field, ref); err != nil {
		return resolved{}, err
	}
	switch {
	case ref.ID != "":
		return s.resolveID(ctx, field, strings.TrimSpace(ref.ID))
	case ref.Path != "":
		data, p, err := s.readFile(ctx, ref.Path)
		if err != nil {
			return resolved{}, prefixField(field+".path", err)
		}
		enc, err := s.encoder()
		if err != nil {
			return resolved{}, err
		}
		px, _, err := enc.Preprocessor().BytesContext(ctx, p, data)
		if err != nil {
			return resolved{}, inputErr(field+".path", "cannot read image %s: %v", p, preprocess.Reason(err))
		}
		vecs, err := enc.EmbedPixels(ctx, [][]float32{px})
		if err != nil {
			return resolved{}, fmt.Errorf("embed %s: %w", p, err)
		}
		return resolved{vec: vecs[0], path: p, desc: "image " + p, contentID: contentID(data, enc.ID())}, nil
	case ref.DataURI != "":
		data, err := s.decodeDataURI(ref.DataURI)
		if err != nil {
			return resolved{}, prefixField(field+".data_uri", err)
		}
		return s.embedBytes(ctx, field+".data_uri", "data URI", data, fmt.Sprintf("inline image (%d bytes)", len(data)))
	default:
		u := strings.TrimSpace(ref.URL)
		data, err := s.fetchURL(ctx, u)
		if err != nil {
			return resolved{}, prefixField(field+".url", err)
		}
		return s.embedBytes(ctx, field+".url", u, data, "image "+u)
	}
}

func (s *Service) resolveID(ctx context.Context, field, id string) (resolved, error) {
	recs, err := s.store.Get(ctx, []string{id})
	if err != nil {
		return resolved{}, fmt.Errorf("get %s from %s: %w", id, s.store, err)
	}
	if len(recs) == 0 {
		return resolved{}, inputErr(field+".id", "no indexed image has id %q; use an id from search results", id)
	}
	return resolved{vec: recs[0].Vector, id: id, desc: "indexed image " + recs[0].Payload.Path}, nil
}

// embedBytes decodes, preprocesses and embeds an encoded image exactly as
// ingest does, so the same bytes give the same vector.
func (s *Service) embedBytes(ctx context.Context, field, name string, data []byte, desc string) (resolved, error) {
	enc, err := s.encoder()
	if err != nil {
		return resolved{}, err
	}
	px, _, err := enc.Preprocessor().BytesContext(ctx, name, data)
	if err != nil {
		return resolved{}, inputErr(field, "not a readable image: %v", err)
	}
	vecs, err := enc.EmbedPixels(ctx, [][]float32{px})
	if err != nil {
		return resolved{}, fmt.Errorf("embed %s: %w", desc, err)
	}
	sum := sha256.Sum256(data)
	return resolved{vec: vecs[0], desc: desc, contentID: retriever.RecordID(hex.EncodeToString(sum[:]), enc.ID())}, nil
}

// contentID is the record id of an image file's bytes under model.
func contentID(data []byte, model string) string {
	h := sha256.Sum256(data)
	return retriever.RecordID(hex.EncodeToString(h[:]), model)
}

// prefixField sets the field of an *InputError that has none.
func prefixField(field string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) && ie.Field == "" {
		return &InputError{Field: field, Msg: ie.Msg}
	}
	return err
}

// decodeDataURI returns the bytes of a base64 data URI, checking the size
// before decoding.
func (s *Service) decodeDataURI(uri string) ([]byte, error) {
	uri = strings.TrimSpace(uri)
	meta, payload, ok := strings.Cut(strings.TrimPrefix(uri, "data:"), ",")
	if !strings.HasPrefix(uri, "data:") || !ok {
		return nil, inputErr("", "not a data URI; expected data:image/png;base64,...")
	}
	if !strings.HasSuffix(meta, ";base64") {
		return nil, inputErr("", "only base64 data URIs are accepted (data:image/...;base64,...)")
	}
	if mt := strings.TrimSuffix(meta, ";base64"); mt != "" && !strings.HasPrefix(mt, "image/") && mt != "application/octet-stream" {
		return nil, inputErr("", "media type %q is not an image", mt)
	}
	if n := int64(base64.StdEncoding.DecodedLen(len(payload))); n > s.opts.MaxDataURIBytes+2 {
		return nil, inputErr("", "image is about %d bytes; at most %d bytes are accepted", n, s.opts.MaxDataURIBytes)
	}
	payload = strings.TrimRight(payload, "=")
	data, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil {
		data, err = base64.RawURLEncoding.DecodeString(payload)
	}
	if err != nil {
		return nil, inputErr("", "bad base64: %v", err)
	}
	if int64(len(data)) > s.opts.MaxDataURIBytes {
		return nil, inputErr("", "image is %d bytes; at most %d bytes are accepted", len(data), s.opts.MaxDataURIBytes)
	}
	return data, nil
}
