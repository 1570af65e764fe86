package qdrant_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/qdrant"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
	"github.com/cliprag/cliprag/retriever/storetest"
)

func TestConformance(t *testing.T) {
	addr := qdranttest.Addr(t)
	storetest.Run(t, func(t *testing.T) retriever.Store {
		return qdranttest.OpenConfig(t, qdranttest.Config(t, addr))
	})
}

// TestUnreachable checks the error for a server that is not there: it names
// the address and says how to start Qdrant.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now

	start := time.Now()
	_, err = qdrant.Open(t.Context(), qdrant.Config{Host: "127.0.0.1", Port: port, ConnectTimeout: 1500 * time.Millisecond})
	if err == nil {
		t.Fatal("Open succeeded with no server")
	}
	var ue *qdrant.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T %v, want *qdrant.UnreachableError", err, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, want := range []string{addr, "scripts/qdrant.sh start", "docker run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if ue.Attempts < 2 {
		t.Errorf("gave up after %d attempts, want retries", ue.Attempts)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to give up, ConnectTimeout is 1.5 s", d)
	}
}

func TestOpenValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  qdrant.Config
		want string
	}{
		{"bad port", qdrant.Config{Port: 70000}, "port"},
		{"bad collection", qdrant.Config{Collection: "a/b"}, "collection name"},
		{"missing CA", qdrant.Config{CAFile: "testdata/nope.pem"}, "CA file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := qdrant.Open(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestForeignCollection checks that a collection cliprag did not make is
// refused with a clear message rather than used.
func TestForeignCollection(t *testing.T) {
	cfg := qdranttest.Config(t, qdranttest.Addr(t))
	s := qdranttest.OpenConfig(t, cfg)
	defer s.Close()
	client, err := qc.NewClient(&qc.Config{Host: cfg.Host, Port: cfg.Port, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	err = client.CreateCollection(t.Context(), &qc.CreateCollection{
		CollectionName: cfg.Collection,
		VectorsConfig:  qc.NewVectorsConfig(&qc.VectorParams{Size: 4, Distance: qc.Distance_Cosine}),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Ensure(t.Context(), retriever.Collection{Model: "m", Dim: 4})
	if err == nil || !strings.Contains(err.Error(), "not made by cliprag") {
		t.Fatalf("Ensure on a foreign collection: err = %v", err)
	}
}

// TestServerVersion checks the server is one the pinned client supports.
func TestServerVersion(t *testing.T) {
	s := qdranttest.Open(t)
	defer s.Close()
	v := s.ServerVersion()
	if !strings.HasPrefix(v, "1.16.") && !strings.HasPrefix(v, "1.17.") {
		t.Errorf("server version %q: go-client v1.16.2 supports 1.15 to 1.17, and cliprag needs 1.16+", v)
	}
}

// TestEnsureConcurrent checks that racing Ensure calls on a new collection
// all succeed and agree.
func TestEnsureConcurrent(t *testing.T) {
	cfg := qdranttest.Config(t, qdranttest.Addr(t))
	c := retriever.Collection{Model: "race/model", Dim: 8}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := qdrant.Open(t.Context(), cfg)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Ensure(t.Context(), c)
		}()
	}
	t.Cleanup(func() { qdranttest.Drop(t, cfg) })
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// records makes n records of dimension dim in folder /restart.
func records(n, dim int, model string) []retriever.Record {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	recs := make([]retriever.Record, n)
	for i := range recs {
		sha := fmt.Sprintf("%064x", i)
		v := make([]float32, dim)
		var norm float64
		for j := range v {
			x := rng.NormFloat64()
			v[j] = float32(x)
			norm += x * x
		}
		for j := range v {
			v[j] = float32(float64(v[j]) / math.Sqrt(norm))
		}
		recs[i] = retriever.Record{
			ID:     retriever.RecordID(sha, model),
			Vector: v,
			Payload: retriever.Payload{
				Path: fmt.Sprintf("/restart/%06d.png", i), SHA256: sha, Size: int64(i),
				ModTime: time.Unix(int64(i), 0), Folder: "/restart", Format: "png", Model: model,
				Tags: []retriever.Tag{{Label: fmt.Sprintf("t%d", i%3), Score: 0.5}},
			},
		}
	}
	return recs
}

// TestUpsertSurvivesRestart stops Qdrant in the middle of a large upsert and
// restarts it on the same storage and port: the upsert must return nil and
// the collection must hold exactly the records sent, once each.
func TestUpsertSurvivesRestart(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGKILL", syscall.SIGKILL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := qdranttest.StartServer(t)
			cfg := srv.Config(t)
			cfg.RetryTimeout = 90 * time.Second
			var retries atomic.Int32
			cfg.OnRetry = func(op string, attempt int, wait time.Duration, err error) {
				if retries.Add(1) <= 3 {
					t.Logf("retry %d of %s in %v: %v", attempt, op, wait, err)
				}
			}
			const n, dim = 20000, 256
			const model = "restart/model"
			s, err := qdrant.Open(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Ensure(t.Context(), retriever.Collection{Model: model, Dim: dim}); err != nil {
				t.Fatal(err)
			}
			recs := records(n, dim, model)

			var finished atomic.Bool
			done := make(chan error, 1)
			go func() {
				err := s.Upsert(context.Background(), recs)
				finished.Store(true)
				done <- err
			}()

			// Wait until some batches are in, then stop the server.
			watcher, err := qdrant.Open(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				c, err := watcher.Count(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if c >= 1000 {
					if c >= n || finished.Load() {
						t.Fatalf("upsert finished (count %d) before the server was stopped; make the batch larger", c)
					}
					t.Logf("stopping qdrant with %v at count %d of %d", tc.sig, c, n)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("count still %d after 60 s", c)
				}
				time.Sleep(10 * time.Millisecond)
			}
			watcher.Close()
			srv.Stop(tc.sig)
			if finished.Load() {
				t.Fatal("upsert returned before the server was stopped")
			}
			time.Sleep(1500 * time.Millisecond)
			if finished.Load() {
				t.Fatalf("upsert returned while the server was down: %v", <-done)
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}

			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("upsert across the restart: %v", err)
				}
			case <-time.After(120 * time.Second):
				t.Fatal("upsert did not finish within 120 s of the restart")
			}

			if retries.Load() == 0 {
				t.Error("the upsert never retried: the server stop did not hit it")
			}
			t.Logf("%d retries", retries.Load())

			got, err := s.Count(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("count %d, want %d", got, n)
			}
			want := make([]string, n)
			for i, r := range recs {
				want[i] = r.ID
			}
			var ids []string
			err = s.Files(t.Context(), func(e retriever.FileEntry) error {
				ids = append(ids, e.ID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("ids after restart differ from those sent: %d ids, want %d", len(ids), len(want))
			}
			// Spot-check content: a record from each end of the batch.
			for _, i := range []int{0, n / 2, n - 1} {
				rs, err := s.Get(t.Context(), []string{recs[i].ID})
				if err != nil || len(rs) != 1 || rs[0].Payload.Path != recs[i].Payload.Path {
					t.Errorf("Get record %d: %v %v", i, rs, err)
				}
			}
		})
	}
}
