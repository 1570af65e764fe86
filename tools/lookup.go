package tools

import (
	"context"
	"fmt"
	"time"
)

// ImageInfo is what the index records about one image, for a front end
// that shows it or serves its file.
type ImageInfo struct {
	Hit                 // Rank and Score are zero
	File      string    // the file, resolved and inside the allowed roots
	Size      int64     // bytes, as indexed
	ModTime   time.Time // as indexed
	SHA256    string    // hex of the file's bytes, as indexed
	IndexedAt time.Time
}

// LookupImage returns the indexed image with this id and the path of its
// file, resolved and checked against the allowed roots (SafePath). An
// unknown id and a file outside the roots are *InputError.
func (s *Service) LookupImage(ctx context.Context, id string) (ImageInfo, error) {
	recs, err := s.store.Get(ctx, []string{id})
	if err != nil {
		return ImageInfo{}, fmt.Errorf("get %s from %s: %w", id, s.store, err)
	}
	if len(recs) == 0 {
		return ImageInfo{}, inputErr("id", "no indexed image has id %q", id)
	}
	r := recs[0]
	p, err := s.SafePath(ctx, r.Payload.Path)
	if err != nil {
		return ImageInfo{}, err
	}
	return ImageInfo{
		Hit: hitFrom(0, retrieverHit(r.ID, r.Payload)), File: p,
		Size: r.Payload.Size, ModTime: r.Payload.ModTime, SHA256: r.Payload.SHA256, IndexedAt: r.Payload.IndexedAt,
	}, nil
}
