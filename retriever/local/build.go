package local

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// indexNeed is what the index should become for the table as it is.
type indexNeed int

const (
	needNothing indexNeed = iota
	needBuild             // outgrew flat search, or changed size a lot since the last build
	needDrop              // fell back below the threshold
)

// need decides whether the writer should build or drop the index. The
// caller holds mu (or wmu).
func (s *Store) need(t *table) indexNeed {
	if t == nil || s.opt.threshold < 0 {
		return needNothing
	}
	x := t.ivf
	switch {
	case t.live <= s.opt.threshold:
		if x != nil {
			return needDrop
		}
	case x == nil:
		return needBuild
	case t.live > 2*x.builtLive || t.live < x.builtLive/2:
		return needBuild
	}
	return needNothing
}

// afterWrite, on a writer, arms the background build to run BuildDelay
// after the last write, when the index needs building or dropping; each
// write pushes it back, so a bulk load builds once, when it ends.
func (s *Store) afterWrite() {
	if s.opt.readOnly || s.openErr != nil {
		return
	}
	s.mu.RLock()
	n := s.need(s.t)
	s.mu.RUnlock()
	if n == needNothing {
		return
	}
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed.Load() {
		return
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.opt.buildDelay, func() {
			s.spawn(func() {
				if err := s.maintain(s.ctx, false); err == nil {
					s.afterWrite() // writes during the build may call for another
				}
			})
		})
		return
	}
	s.timer.Reset(s.opt.buildDelay)
}

// BuildIndex builds (or drops) the approximate index now if the collection
// needs it, and persists it with the records, so that readers open it
// instead of searching flat. A writer calls it when a bulk load ends
// (rag-ingest does); otherwise the index is built in the background once
// writes pause for BuildDelay. It waits for a background build in
// progress, and returns ctx's error if ctx ends first (the index is then
// left as it was). On a read-only store it does nothing.
func (s *Store) BuildIndex(ctx context.Context) error {
	if err := s.usable(); err != nil || s.opt.readOnly {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel) // Close abandons it too
	defer stop()
	return s.maintain(ctx, true)
}

// maintain builds or drops the index as need says, then persists and
// installs it. With wait it waits for a build already running; without, it
// leaves it be.
func (s *Store) maintain(ctx context.Context, wait bool) error {
	if wait {
		s.buildMu.Lock()
	} else if !s.buildMu.TryLock() {
		return nil
	}
	defer s.buildMu.Unlock()
	s.mu.RLock()
	t := s.t
	n := s.need(t)
	s.mu.RUnlock()
	switch n {
	case needNothing:
		return nil
	case needDrop:
		return s.install(t, nil, nil)
	}
	s.mu.Lock()
	if s.t != t {
		s.mu.Unlock()
		return nil
	}
	t.dirty = map[int32]struct{}{}
	s.mu.Unlock()
	x, assign := buildIVF(ctx, t, s.mu.RLocker(), s.opt.targetRecall)
	if x == nil {
		s.mu.Lock()
		t.dirty = nil
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		return nil
	}
	return s.install(t, x, assign)
}

// install persists index x (nil: none) with the list of every row, then
// makes it the table's. Rows written while x was built are filed now,
// holding wmu so that no write comes between.
func (s *Store) install(t *table, x *ivf, assign []int32) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.t != t {
		s.mu.RUnlock()
		return nil
	}
	gen := t.gen + 1
	if x != nil && !x.flat {
		assign = growAssign(assign, t.rows)
		for r := range t.dirty {
			assign[r] = -1
			if t.isLive(r) {
				assign[r] = x.nearestCode(t.code(r))
			}
		}
	}
	s.mu.RUnlock()
	var seq uint64
	err := s.update(func(tx *bolt.Tx) error {
		w, err := beginWrite(tx, t.dim)
		if err != nil {
			return err
		}
		seq = w.seq
		return w.writeIndex(x, assign, gen)
	})
	if err != nil {
		s.mu.Lock()
		t.dirty = nil
		s.mu.Unlock()
		return fmt.Errorf("index %s: persist the index: %w", s, err)
	}
	s.mu.Lock()
	t.dirty = nil
	x.install(t, assign)
	t.gen, t.seq = gen, seq
	s.mu.Unlock()
	s.builds.Add(1)
	return nil
}
