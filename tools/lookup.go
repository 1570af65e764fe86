package tools

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cliprag/cliprag/internal/safefs"
	"github.com/cliprag/cliprag/retriever"
)

// ImageInfo is what the index records about one image and the state of
// its file now, for a front end that shows it or serves it.
type ImageInfo struct {
	Hit                   // Rank and Score are zero
	Size        int64     // bytes, as indexed
	ModTime     time.Time // as indexed
	SHA256      string    // hex of the file's bytes, as indexed
	IndexedAt   time.Time
	FileSize    int64     // the file as it is now, seen through the roots
	FileModTime time.Time // the same
}

// LookupImage returns the indexed image with this id, with its file
// looked at through the allowed roots (as ReadImage reads it: a file
// outside them, or a link that leads out, is refused). An unknown id, a
// missing file and a file outside the roots are *InputError.
func (s *Service) LookupImage(ctx context.Context, id string) (ImageInfo, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	r, err := s.record(ctx, id)
	if err != nil {
		return ImageInfo{}, err
	}
	l, err := s.locateExisting(ctx, r.Payload.Path)
	if err != nil {
		return ImageInfo{}, err
	}
	root, err := os.OpenRoot(l.root.dir)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("open root %s: %w", l.root.dir, err)
	}
	defer root.Close()
	fi, err := safefs.StatIn(root, l.rel)
	if err != nil {
		return ImageInfo{}, inputErr("", "cannot read %s: %v", l.path, unwrapPath(err))
	}
	if err := safefs.CheckRegular(fi); err != nil {
		return ImageInfo{}, inputErr("", "%s is not an image file: %v", l.path, err)
	}
	p := r.Payload
	return ImageInfo{
		Hit: hitFrom(0, retrieverHit(r.ID, p)), Size: p.Size, ModTime: p.ModTime, SHA256: p.SHA256, IndexedAt: p.IndexedAt,
		FileSize: fi.Size(), FileModTime: fi.ModTime(),
	}, nil
}

// ReadImageFile returns the indexed image with this id as its file holds
// it, unconverted, with the MIME type of its format, read through the
// allowed roots.
func (s *Service) ReadImageFile(ctx context.Context, id string) (ImageData, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	r, err := s.record(ctx, id)
	if err != nil {
		return ImageData{}, err
	}
	data, _, err := s.readFile(ctx, r.Payload.Path)
	if err != nil {
		return ImageData{}, err
	}
	return ImageData{Hit: hitFrom(0, retrieverHit(r.ID, r.Payload)), Data: data, MIMEType: MIMEType(r.Payload.Format)}, nil
}

// record returns the record with this id; an unknown id is an *InputError.
func (s *Service) record(ctx context.Context, id string) (retriever.Record, error) {
	recs, err := s.store.Get(ctx, []string{id})
	if err != nil {
		return retriever.Record{}, fmt.Errorf("get %s from %s: %w", id, s.store, err)
	}
	if len(recs) == 0 {
		return retriever.Record{}, inputErr("id", "no indexed image has id %q", id)
	}
	return recs[0], nil
}
