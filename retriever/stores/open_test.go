package stores_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/qdrant"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
	"github.com/cliprag/cliprag/retriever/stores"
)

// roundTrip stores one record in s and reads it back.
func roundTrip(t *testing.T, s retriever.Store) {
	t.Helper()
	ctx := t.Context()
	c := retriever.Collection{Model: "stores/test", Dim: 3}
	if err := s.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("ab", 32)
	rec := retriever.Record{
		ID:     retriever.RecordID(sha, c.Model),
		Vector: []float32{0.6, 0.8, 0},
		Payload: retriever.Payload{Path: "/p/x.png", SHA256: sha, Folder: "/p", Format: "png", Model: c.Model,
			ModTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	if err := s.Upsert(ctx, []retriever.Record{rec}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, []float32{0.6, 0.8, 0}, 5, retriever.Filter{FolderPrefix: "/p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != rec.ID || hits[0].Payload.Path != rec.Payload.Path {
		t.Fatalf("hits = %+v, want the record", hits)
	}
}

func TestOpenLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	s, err := stores.Open(t.Context(), dir, stores.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*local.Store); !ok {
		t.Fatalf("Open(%q) = %T, want *local.Store", dir, s)
	}
	if s.String() != dir {
		t.Errorf("String() = %q, want %q", s.String(), dir)
	}
	roundTrip(t, s)
}

func TestOpenQdrant(t *testing.T) {
	addr := qdranttest.Addr(t)
	cfg := qdranttest.Config(t, addr)
	t.Cleanup(func() { qdranttest.Drop(t, cfg) })
	spec := fmt.Sprintf("qdrant://%s/%s", addr, cfg.Collection)
	s, err := stores.Open(t.Context(), spec, stores.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*qdrant.Store); !ok {
		t.Fatalf("Open(%q) = %T, want *qdrant.Store", spec, s)
	}
	if s.String() != spec {
		t.Errorf("String() = %q, want %q", s.String(), spec)
	}
	roundTrip(t, s)
}

func TestOpenQdrantUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = stores.Open(t.Context(), "qdrant://"+addr+"/images", stores.Options{})
	var ue *qdrant.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want an *qdrant.UnreachableError naming %s", err, addr)
	}
}

func TestOpenBadSpec(t *testing.T) {
	_, err := stores.Open(t.Context(), "redis://localhost/0", stores.Options{})
	if err == nil || !strings.Contains(err.Error(), "unknown scheme") {
		t.Fatalf("err = %v", err)
	}
}
