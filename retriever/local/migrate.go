package local

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
)

// Format 1 kept vectors and JSON payloads keyed by record id:
//
//	meta      "format" → "1", "model" → model id, "dim" → decimal
//	vectors   id → dim little-endian float32s
//	payloads  id → JSON of retriever.Payload

const migrateDir = "upgrade.tmp"

// format1Payload is a format-1 payload: retriever.Payload's JSON, with the
// exact bytes of a path or folder that is not UTF-8 beside its escaped
// text (retriever.EncodePath).
type format1Payload struct {
	retriever.Payload
	PathRaw   []byte `json:"path_raw,omitempty"`
	FolderRaw []byte `json:"folder_raw,omitempty"`
}

// migrate upgrades a format-1 index in place, on a writer's open: it
// writes the records into a new file in dir/upgrade.tmp, then renames it
// over index.db, so a crash leaves the old file (and the next open starts
// again). Records sharing a path keep the last one, as Upsert would.
func (s *Store) migrate() error {
	tmp := filepath.Join(s.dir, migrateDir)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove unfinished upgrade %s: %w", tmp, err)
	}
	if _, err := os.Stat(s.path); err != nil {
		return nil
	}
	var coll *retriever.Collection
	db, err := s.openDB(true)
	if err != nil {
		return err
	}
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		coll, err = collectionOf(tx)
		var fe *formatError
		if errors.As(err, &fe) && fe.have == "1" {
			mb := tx.Bucket(bucketMeta)
			dim, err := strconv.Atoi(string(mb.Get([]byte("dim"))))
			if err != nil || dim <= 0 {
				return fmt.Errorf("corrupt format-1 meta: dim %q", mb.Get([]byte("dim")))
			}
			coll = &retriever.Collection{Model: string(mb.Get([]byte("model"))), Dim: dim}
			return nil
		}
		coll = nil // current format, or new: nothing to do
		return err
	})
	if err != nil || coll == nil {
		db.Close()
		return err
	}
	defer os.RemoveAll(tmp)
	err = copyFormat1(db, tmp, *coll)
	db.Close()
	if err != nil {
		return fmt.Errorf("upgrade index %s from format 1: %w", s.dir, err)
	}
	if err := os.Rename(filepath.Join(tmp, dbName), s.path); err != nil {
		return fmt.Errorf("upgrade index %s: %w", s.dir, err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// copyFormat1 writes every record of the format-1 db into a new store in
// dir (created).
func copyFormat1(db *bolt.DB, dir string, c retriever.Collection) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ns, err := Open(dir, &Options{ExactThreshold: -1})
	if err != nil {
		return err
	}
	defer ns.Close()
	ctx := context.Background()
	if err := ns.Ensure(ctx, c); err != nil {
		return err
	}
	var batch []retriever.Record
	flush := func() error {
		// One record per path and batch: the last wins, as a later batch would.
		at := map[string]int{}
		out := batch[:0]
		for _, r := range batch {
			if i, ok := at[r.Payload.Path]; ok && r.Payload.Path != "" {
				out[i] = r
				continue
			}
			at[r.Payload.Path] = len(out)
			out = append(out, r)
		}
		err := ns.Upsert(ctx, out)
		batch = batch[:0]
		return err
	}
	err = db.View(func(tx *bolt.Tx) error {
		vb, pb := tx.Bucket([]byte("vectors")), tx.Bucket([]byte("payloads"))
		if vb == nil || pb == nil {
			return errors.New("missing vectors or payloads bucket")
		}
		return vb.ForEach(func(k, v []byte) error {
			if len(v) != 4*c.Dim {
				return fmt.Errorf("record %s: vector of %d bytes, want %d", k, len(v), 4*c.Dim)
			}
			r := retriever.Record{ID: string(k), Vector: make([]float32, c.Dim)}
			for i := range r.Vector {
				r.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:]))
			}
			var d format1Payload
			if err := json.Unmarshal(pb.Get(k), &d); err != nil {
				return fmt.Errorf("record %s: decode payload: %w", k, err)
			}
			r.Payload = d.Payload
			r.Payload.Path = retriever.DecodePath(d.Path, d.PathRaw)
			r.Payload.Folder = retriever.DecodePath(d.Folder, d.FolderRaw)
			batch = append(batch, r)
			if len(batch) >= 2048 {
				return flush()
			}
			return nil
		})
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}
	return ns.Close()
}
