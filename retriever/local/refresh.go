package local

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// refreshIfStale, on a read-only store, checks at most every
// RefreshInterval whether a writer committed since the last load, and if so
// catches up in the background; reads go on against the loaded state.
func (s *Store) refreshIfStale() {
	if !s.opt.readOnly {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(s.opt.refresh) || !s.lastCheck.CompareAndSwap(last, now) {
		return
	}
	st, err := statFile(s.path)
	if err != nil {
		return
	}
	if old := s.stamp.Load(); old != nil && old.size == st.size && old.mtime.Equal(st.mtime) {
		return
	}
	if !s.reloading.CompareAndSwap(false, true) {
		return
	}
	started := s.spawn(func() {
		defer s.reloading.Store(false)
		if err := s.catchUp(); err == nil {
			s.stamp.Store(&st)
		}
	})
	if !started {
		s.reloading.Store(false)
	}
}

// catchUp brings a reader's table up to the file: it applies the rows that
// the commits since its load changed (from the log), or reloads everything
// when the index was rebuilt, the collection created, or the log no longer
// goes back far enough.
func (s *Store) catchUp() error {
	s.mu.RLock()
	t := s.t
	s.mu.RUnlock()
	if t == nil {
		return s.load()
	}
	var ch *changes
	full := false
	err := s.view(func(tx *bolt.Tx) error {
		seq, gen := readSeq(tx)
		if gen != t.gen {
			full = true
			return nil
		}
		var err error
		ch, err = readChanges(tx, t, seq)
		if ch == nil && err == nil {
			full = true
		}
		return err
	})
	if err != nil {
		return err
	}
	if full {
		return s.load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t != t {
		return nil
	}
	ch.apply(t)
	return nil
}

// changes are the rows that commits (t.seq, seq] changed, as they are now.
type changes struct {
	seq     uint64
	folders map[uint32]string
	tagsets map[uint32][]string
	rows    map[int32]*rowChange // nil: the row was deleted
}

type rowChange struct {
	code []int8
	meta rowMeta
	gen  uint32
}

// readChanges reads the rows changed since t.seq; nil when the log does
// not go back that far.
func readChanges(tx *bolt.Tx, t *table, seq uint64) (*changes, error) {
	ch := &changes{seq: seq, folders: map[uint32]string{}, tagsets: map[uint32][]string{}, rows: map[int32]*rowChange{}}
	if seq == t.seq {
		return ch, nil
	}
	lb, cb := tx.Bucket(bucketLog), tx.Bucket(bucketCodes)
	if lb == nil || cb == nil || seq < t.seq {
		return nil, nil
	}
	if lb.Get(u64key(t.seq+1)) == nil {
		return nil, nil
	}
	c := lb.Cursor()
	for k, v := c.Seek(u64key(t.seq + 1)); k != nil && binary.BigEndian.Uint64(k) <= seq; k, v = c.Next() {
		for i := 0; i+4 <= len(v); i += 4 {
			r := int32(binary.BigEndian.Uint32(v[i:]))
			ch.rows[r] = nil
		}
	}
	for r := range ch.rows {
		v := cb.Get(u32key(uint32(r)))
		if v == nil {
			continue
		}
		code, m, gen, err := parseCodes(v, t.dim)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
		ch.rows[r] = &rowChange{code: append([]int8(nil), code...), meta: m, gen: gen}
		if int(m.folder) >= len(t.folders) {
			ch.folders[m.folder] = string(tx.Bucket(bucketFolders).Get(u32key(m.folder)))
		}
		if int(m.tagset) >= len(t.tagsets) {
			labels, err := decodeLabels(tx.Bucket(bucketTagsets).Get(u32key(m.tagset)))
			if err != nil {
				return nil, fmt.Errorf("tag set %d: %w", m.tagset, err)
			}
			ch.tagsets[m.tagset] = labels
		}
	}
	return ch, nil
}

// apply changes t. The caller holds mu.
func (ch *changes) apply(t *table) {
	for id, f := range ch.folders {
		t.addFolder(id, f)
	}
	for id, l := range ch.tagsets {
		t.addTagset(id, l)
	}
	for r, c := range ch.rows {
		if c == nil {
			t.clear(r)
			continue
		}
		m := c.meta
		if c.gen != t.gen {
			m.list = -1
		}
		t.set(r, c.code, m)
	}
	t.seq = ch.seq
}
