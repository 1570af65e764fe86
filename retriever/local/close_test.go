package local

import (
	"sync"
	"testing"

	"github.com/cliprag/cliprag/retriever"
)

// TestCloseRacesWrites closes stores while writes that would start an IVF
// build are in flight: no background work may start after Close returns,
// and Close must wait for a write in progress. Run it under -race.
func TestCloseRacesWrites(t *testing.T) {
	ctx := t.Context()
	const dim = 8
	for i := range 200 {
		s := OpenMemory(&Options{ExactThreshold: 4})
		if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: dim}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for b := 0; ; b++ {
					if s.Upsert(ctx, testRecords(uint64(i), (w*1000+b)*8, 8, dim)) != nil {
						return
					}
				}
			})
		}
		s.Close()
		after := s.bgStarted.Load()
		wg.Wait()
		if n := s.bgStarted.Load(); n != after {
			t.Fatalf("iteration %d: %d background tasks started after Close returned", i, n-after)
		}
	}
}
