// Package retriever defines the image index: the records cliprag stores and
// the Store interface that the embedded store (package retriever/local) and
// the Qdrant backend (package retriever/qdrant) both implement.
//
// Nothing in this package imports a vendor; backends live in sub-packages and
// package retriever/stores opens one from a user's --store value.
package retriever

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"time"
)

// Tag is a zero-shot label attached to an image at ingest, with its probability.
type Tag struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// Payload is what the index knows about an image besides its vector.
type Payload struct {
	Path    string    `json:"path"`   // absolute path
	SHA256  string    `json:"sha256"` // hex of the file's bytes
	Size    int64     `json:"size"`   // bytes
	ModTime time.Time `json:"mtime"`
	Width   int       `json:"width"`  // pixels, as displayed (after EXIF orientation)
	Height  int       `json:"height"` // pixels
	Format  string    `json:"format"` // "jpeg", "png", ...
	Folder  string    `json:"folder"` // absolute directory of Path
	Tags    []Tag     `json:"tags,omitempty"`
	// TagSet identifies the tag labels, prompt templates and limits the
	// Tags were chosen with (see tools/ingest), so that a changed set can
	// re-tag the record from its vector; empty when no tag set was used.
	TagSet    string    `json:"tag_set,omitempty"`
	IndexedAt time.Time `json:"indexed_at"`
	Model     string    `json:"model"` // embed.Model.ID()
	// Text holds the lines of text read in the image (OCR), in reading
	// order; empty when none were found or the image was not read.
	Text []TextLine `json:"text,omitempty"`
	// TextBy identifies the OCR engine and settings that produced Text;
	// empty when the image was never read, so "read, no text" and
	// "not read" differ.
	TextBy string `json:"text_by,omitempty"`
}

// TextLine is one line of text read in an image.
type TextLine struct {
	Text       string  `json:"text"`
	Confidence float32 `json:"confidence"` // 0–1
	// Box is the line's quadrilateral in the original image's pixels
	// (after EXIF orientation), clockwise from the top-left corner.
	Box [4][2]int `json:"box"`
}

// TextSearcher is implemented by stores that keep a full-text index over
// the records' Payload.Text. Callers discover it with a type assertion.
type TextSearcher interface {
	// SearchText returns up to k hits whose text matches query, best
	// first; Hit.Score is the store's text relevance (higher is better,
	// not a cosine). Filter applies as in Search, except MinScore.
	//
	// Both stores score with package retriever/fulltext: BM25 over the
	// query's terms divided by the most the query could score, so Score
	// lies in (0, 1]; a record matches when it holds at least half of the
	// query's IDF weight. A query without a match (or without terms)
	// returns no hits and no error.
	SearchText(ctx context.Context, query string, k int, f Filter) ([]Hit, error)
}

// Record is one indexed image.
type Record struct {
	ID      string
	Vector  []float32 // L2-normalised
	Payload Payload
}

// Hit is one search result. Score is the cosine similarity to the query.
type Hit struct {
	ID      string  `json:"id"`
	Score   float32 `json:"score"`
	Payload Payload `json:"payload"`
}

// Filter narrows a search. The zero Filter matches everything.
type Filter struct {
	AnyTags      []string // at least one of these tags
	AllTags      []string // every one of these tags
	FolderPrefix string   // absolute folder prefix; matches that folder and below
	MinScore     float32  // hits scoring below are dropped; 0 means no minimum
}

// FileEntry is the part of a record that incremental ingest and pruning need.
type FileEntry struct {
	ID      string
	Path    string
	SHA256  string
	Size    int64
	ModTime time.Time
	TagSet  string // Payload.TagSet
	TextBy  string // Payload.TextBy
}

// Collection describes the vectors a store holds. A store holds one model's
// vectors only.
type Collection struct {
	Model string // embed.Model.ID()
	Dim   int
}

// ErrModelMismatch is wrapped by Ensure when a store was built with another
// model or dimension.
var ErrModelMismatch = errors.New("index was built with another model")

// ErrNotFound is returned by Store.Collection when no collection exists yet.
var ErrNotFound = errors.New("not found")

// MismatchError reports a store built with another model.
type MismatchError struct {
	Store      string     // where the index lives
	Have, Want Collection // what the store holds, what the caller asked for
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("index %s was built with model %q (dim %d), not %q (dim %d): use --model %s, or another --store",
		e.Store, e.Have.Model, e.Have.Dim, e.Want.Model, e.Want.Dim, e.Have.Model)
}

func (e *MismatchError) Unwrap() error { return ErrModelMismatch }

// Store is an index of image embeddings. Implementations are safe for
// concurrent use; searches proceed while a writer upserts.
type Store interface {
	// Ensure creates the collection for c, or checks that the existing one
	// matches it, returning a *MismatchError otherwise.
	Ensure(ctx context.Context, c Collection) error
	// Collection returns what the store holds, or ErrNotFound when empty and new.
	Collection(ctx context.Context) (Collection, error)
	// Upsert inserts or replaces records by ID, and removes every other
	// record whose Payload.Path equals the path of a record in recs: a store
	// holds at most one record per path (records with an empty path are
	// exempt), and writing a file's new content replaces its old record.
	// A batch holding two records with one path is rejected whole.
	//
	// The embedded store does all of it in one transaction: a crash leaves
	// the old record or the new one, never both. Qdrant has no
	// multi-operation transactions: it upserts, then deletes the other
	// records at those paths by filter, so a crash in between can leave two
	// records at one path. Callers converge by treating several records at
	// a path as stale but one (see package tools/ingest), and every later
	// Upsert of that path removes the rest. Upsert is idempotent everywhere.
	Upsert(ctx context.Context, recs []Record) error
	// Search returns up to k hits by descending cosine similarity.
	Search(ctx context.Context, vector []float32, k int, f Filter) ([]Hit, error)
	// Get returns the records with these ids that exist, in the given order;
	// missing ids are skipped.
	Get(ctx context.Context, ids []string) ([]Record, error)
	// Delete removes records by id; missing ids are not an error.
	Delete(ctx context.Context, ids []string) error
	// Files calls fn for every record, in no particular order, until fn
	// returns an error.
	Files(ctx context.Context, fn func(FileEntry) error) error
	// Count returns the number of records.
	Count(ctx context.Context) (int, error)
	// Tags returns every tag label in the index with how many images carry it.
	Tags(ctx context.Context) (map[string]int, error)
	// String names the store for messages ("/home/me/.local/share/cliprag/index", "qdrant://host:6334/images").
	String() string
	Close() error
}

// RecordID returns the deterministic id of an image: a name-based UUID
// (version 5 layout) of its content hash and the model id, so re-indexing
// the same bytes with the same model is idempotent.
func RecordID(sha256hex, model string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(sha256hex))
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// namespace is the UUID namespace for cliprag record ids.
var namespace = [16]byte{0x6c, 0x69, 0x70, 0x72, 0x61, 0x67, 0x4e, 0x53, 0x8e, 0x2a, 0x1d, 0x77, 0x3c, 0x55, 0x90, 0x01}
