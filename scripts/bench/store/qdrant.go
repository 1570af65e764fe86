package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
)

// qdrantServer is a Qdrant process this command started, on 127.0.0.1.
type qdrantServer struct {
	bin, storage     string
	httpPort, grpcPt int
	cmd              *exec.Cmd
}

func (q *qdrantServer) start() error {
	if err := os.MkdirAll(filepath.Join(q.storage, "storage"), 0o755); err != nil {
		return err
	}
	q.cmd = exec.Command(q.bin)
	q.cmd.Dir = q.storage
	q.cmd.Env = append(os.Environ(),
		"QDRANT__SERVICE__HOST=127.0.0.1",
		fmt.Sprintf("QDRANT__SERVICE__HTTP_PORT=%d", q.httpPort),
		fmt.Sprintf("QDRANT__SERVICE__GRPC_PORT=%d", q.grpcPt),
		"QDRANT__STORAGE__STORAGE_PATH="+filepath.Join(q.storage, "storage"),
		"QDRANT__STORAGE__SNAPSHOTS_PATH="+filepath.Join(q.storage, "snapshots"),
		"QDRANT__TELEMETRY_DISABLED=true", "QDRANT__LOG_LEVEL=WARN")
	log, err := os.OpenFile(filepath.Join(q.storage, "qdrant.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	q.cmd.Stdout, q.cmd.Stderr = log, log
	if err := q.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(120 * time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", q.httpPort)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			q.stop()
			return errors.New("qdrant not ready after 120 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (q *qdrantServer) pid() string { return fmt.Sprint(q.cmd.Process.Pid) }

func (q *qdrantServer) stop() {
	if q.cmd == nil || q.cmd.Process == nil {
		return
	}
	_ = q.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = q.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = q.cmd.Process.Kill()
		<-done
	}
	q.cmd = nil
}

const qdrantCollection = "bench"

// cmdQdrant measures Qdrant on the data set: a fresh server and collection
// (cosine, default HNSW: m 16, ef_construct 100), batches of upserts, then
// waiting until the collection is green with every vector indexed (at most
// -index-timeout), then a restart of the server on the same storage (the
// reopen time: until the first query answers), then the timed searches.
func cmdQdrant(args []string) error {
	var bin string
	var httpPort, grpcPort, batch, passes, runs int
	var indexTimeout time.Duration
	c, err := parseCommon("qdrant", args, func(fs *flag.FlagSet) {
		fs.StringVar(&bin, "bin", "", "qdrant binary")
		fs.IntVar(&httpPort, "http-port", 26343, "HTTP port")
		fs.IntVar(&grpcPort, "grpc-port", 26344, "gRPC port")
		fs.IntVar(&batch, "batch", 1000, "points per upsert")
		fs.IntVar(&passes, "passes", 5, "timed passes over the queries per run")
		fs.IntVar(&runs, "runs", 3, "search runs")
		fs.DurationVar(&indexTimeout, "index-timeout", 20*time.Minute, "longest wait for the HNSW index")
	})
	if err != nil {
		return err
	}
	d, err := openData(c.data)
	if err != nil {
		return err
	}
	srv := &qdrantServer{bin: bin, storage: c.dir, httpPort: httpPort, grpcPt: grpcPort}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.stop()
	em := emitter{c.out}
	r, err := qdrantBuild(srv, d, batch, indexTimeout)
	if err != nil {
		return err
	}
	r.Round = c.round
	if err := em.emit(r); err != nil {
		return err
	}
	return qdrantReopenSearch(srv, d, c.round, passes, runs, em)
}

func qdrantClient(srv *qdrantServer) (*qc.Client, error) {
	return qc.NewClient(&qc.Config{Host: "127.0.0.1", Port: srv.grpcPt})
}

func qdrantBuild(srv *qdrantServer, d *dataset, batch int, indexTimeout time.Duration) (Result, error) {
	r := Result{Engine: "qdrant", Kind: d.Kind, N: d.N, Phase: "build", LoadBeg: loadAvg()}
	ctx := context.Background()
	cl, err := qdrantClient(srv)
	if err != nil {
		return r, err
	}
	defer cl.Close()
	base := procStatus(srv.pid(), "VmRSS")
	smp := sampleRSS(srv.pid())
	err = cl.CreateCollection(ctx, &qc.CreateCollection{
		CollectionName: qdrantCollection,
		VectorsConfig:  qc.NewVectorsConfig(&qc.VectorParams{Size: uint64(d.Dim), Distance: qc.Distance_Cosine}),
	})
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	err = d.batches(batch, func(from int, vecs [][]float32) error {
		pts := make([]*qc.PointStruct, len(vecs))
		for i, v := range vecs {
			pts[i] = &qc.PointStruct{Id: qc.NewIDNum(uint64(from + i)), Vectors: qc.NewVectors(v...),
				Payload: qc.NewValueMap(map[string]any{"path": fmt.Sprintf("/img/f%03d/%07d.jpg", (from+i)%200, from+i)})}
		}
		_, err := cl.Upsert(ctx, &qc.UpsertPoints{CollectionName: qdrantCollection, Points: pts, Wait: qc.PtrOf(true)})
		return err
	})
	if err != nil {
		return r, check(err, "upsert")
	}
	insert := time.Since(t0)
	peakInsert, _ := smp.reset()
	indexed, green := 0.0, false
	for time.Since(t0) < insert+indexTimeout {
		info, err := cl.GetCollectionInfo(ctx, qdrantCollection)
		if err != nil {
			return r, err
		}
		indexed = float64(info.GetIndexedVectorsCount())
		if info.GetStatus() == qc.CollectionStatus_Green && indexed >= float64(d.N) {
			green = true
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	total := time.Since(t0)
	peakBuild, _ := smp.close()
	r.Metrics = map[string]float64{
		"insert_s": insert.Seconds(), "build_s": (total - insert).Seconds(), "total_s": total.Seconds(),
		"rss_base": base, "rss_peak_insert": peakInsert, "rss_peak_build": peakBuild,
		"rss_hwm": procStatus(srv.pid(), "VmHWM"), "rss_end": procStatus(srv.pid(), "VmRSS"),
		"indexed": indexed, "disk_bytes": dirSize(filepath.Join(srv.storage, "storage")),
	}
	if !green {
		r.Note = fmt.Sprintf("index not complete after %s: %.0f of %d vectors indexed", indexTimeout, indexed, d.N)
	}
	return r, nil
}

func qdrantReopenSearch(srv *qdrantServer, d *dataset, round, passes, runs int, em emitter) error {
	srv.stop()
	ctx := context.Background()
	t0 := time.Now()
	if err := srv.start(); err != nil {
		return err
	}
	cl, err := qdrantClient(srv)
	if err != nil {
		return err
	}
	defer cl.Close()
	limit := uint64(topK)
	search := func(q []float32) ([]int, error) {
		pts, err := cl.Query(ctx, &qc.QueryPoints{CollectionName: qdrantCollection, Query: qc.NewQueryDense(q), Limit: &limit,
			WithPayload: qc.NewWithPayload(true)})
		rows := make([]int, len(pts))
		for i, p := range pts {
			rows[i] = int(p.GetId().GetNum())
		}
		return rows, err
	}
	for {
		if _, err := search(d.queries[0]); err == nil {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return errors.New("qdrant answered no query within 5 min of restarting")
		}
		time.Sleep(10 * time.Millisecond)
	}
	open := time.Since(t0)
	rssOpen := procStatus(srv.pid(), "VmRSS")
	for run := 1; run <= runs; run++ {
		r := Result{Engine: "qdrant", Kind: d.Kind, N: d.N, Phase: "search", Round: round, LoadBeg: loadAvg()}
		m, err := timeQueries(d, search, passes)
		if err != nil {
			return err
		}
		if run == 1 {
			m["open_ms"] = float64(open.Microseconds()) / 1000
			m["rss_open"] = rssOpen
		}
		m["rss_end"] = procStatus(srv.pid(), "VmRSS")
		m["run"] = float64(run)
		r.Metrics = m
		if err := em.emit(r); err != nil {
			return err
		}
	}
	return nil
}
