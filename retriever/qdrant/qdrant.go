// Package qdrant is the Qdrant backend of the image index: a retriever.Store
// kept in one Qdrant collection, spoken to over gRPC (port 6334) with
// github.com/qdrant/go-client.
//
// # Layout
//
// The collection has one unnamed dense vector per point, with cosine
// distance and the model's dimension. The model id and dimension are
// recorded in the collection's metadata (Qdrant 1.16+) under the keys
// "cliprag_model" and "cliprag_dim", next to "cliprag_schema" (the payload
// layout version, 1). Points are keyed by retriever.RecordID, a UUID.
//
// Each payload holds the retriever.Payload fields under their JSON names
// (times as RFC 3339 strings in UTC) and "folders": the record's folder and
// every folder above it. Keyword payload indexes cover "tags[].label",
// "folder", "folders", "sha256", "model" and "path". Filter.FolderPrefix
// matches "folders" exactly, since Qdrant has no prefix match on keywords.
//
// # One record per path
//
// Upsert writes the points, then deletes by filter the other points at
// their paths (path in the batch's paths, id not among its ids). Qdrant has
// no multi-operation transactions, so a crash between the two leaves an
// old record beside the new one; the next Upsert of that path, or ingest's
// listing (which keeps the record matching the file and deletes the rest),
// removes it.
//
// # Failures
//
// Every call is retried with exponential backoff and jitter while Qdrant
// answers Unavailable, DeadlineExceeded or ResourceExhausted, for up to
// Config.RetryTimeout (30 s by default). Upserts go in batches of at most
// 256 points, each acknowledged only once applied (wait=true); batches are
// idempotent, so a batch retried after a server restart neither loses nor
// duplicates points. When the server stays unreachable the error is an
// *UnreachableError naming the address and saying how to start Qdrant.
package qdrant

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cliprag/cliprag/retriever"
)

// Defaults for Config fields left zero.
const (
	DefaultHost           = "localhost"
	DefaultPort           = 6334 // Qdrant's gRPC port
	DefaultCollection     = "images"
	DefaultTimeout        = 30 * time.Second
	DefaultRetryTimeout   = 30 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	// MaxBatch is the largest number of points sent in one upsert call.
	MaxBatch = 256
)

// Collection metadata keys.
const (
	metaModel  = "cliprag_model"
	metaDim    = "cliprag_dim"
	metaSchema = "cliprag_schema"
	schema     = 1
)

// scrollPage is how many points one scroll or get call asks for.
const scrollPage = 1000

// Config says where the Qdrant server is and how to talk to it.
type Config struct {
	Host       string // host name or IP; default "localhost"
	Port       int    // gRPC port; default 6334
	Collection string // collection name; default "images"
	APIKey     string // sent as the api-key header when set

	// UseTLS connects with TLS. Setting TLSConfig or CAFile implies it.
	UseTLS bool
	// TLSConfig overrides the TLS settings (default: system roots, TLS 1.2+).
	TLSConfig *tls.Config
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system roots, for servers with a private CA.
	CAFile string

	// Timeout bounds each call to the server (each attempt); default 30 s.
	Timeout time.Duration
	// RetryTimeout bounds how long one operation keeps retrying transient
	// failures; default 30 s. Negative disables retries.
	RetryTimeout time.Duration
	// ConnectTimeout bounds how long Open keeps trying to reach the server;
	// default 5 s.
	ConnectTimeout time.Duration
	// BatchSize is the number of points per upsert call, 1 to 256; default 256.
	BatchSize int
	// OnRetry, when set, is called before each retry of a transient failure
	// with the operation, the attempt that failed (from 1), the wait before
	// the next and the error, so that callers can log it. It may be called
	// from several goroutines at once.
	OnRetry func(op string, attempt int, wait time.Duration, err error)
	// AfterWrite, when set, is called after each write the server
	// acknowledged (an upsert batch, a delete), with the operation's name.
	// Fault tests use it to kill a writer between two writes.
	AfterWrite func(op string)
}

// Store is a retriever.Store in a Qdrant collection. It is safe for
// concurrent use.
type Store struct {
	cfg     Config
	addr    string // host:port
	client  *qc.Client
	version string // server version

	mu   sync.Mutex
	coll *retriever.Collection // cached once known
}

var _ retriever.Store = (*Store)(nil)

// Open connects to the Qdrant server that cfg names and checks that it
// answers and is version 1.16 or newer. It does not create the collection:
// Ensure does. When the server cannot be reached within
// cfg.ConnectTimeout, the error is an *UnreachableError.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.tls()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		cfg.UseTLS = true
	}
	s := &Store{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	if cfg.APIKey != "" && !cfg.UseTLS && !isLoopback(cfg.Host) {
		slog.Warn("qdrant: sending the API key without TLS; use qdrants:// for a remote server", "addr", s.addr)
	}
	if s.client, err = dial(cfg, tlsCfg); err != nil {
		return nil, fmt.Errorf("qdrant: client for %s: %w", s, err)
	}
	if err := s.checkServer(ctx); err != nil {
		s.client.Close()
		return nil, err
	}
	return s, nil
}

// withDefaults fills the zero fields of cfg with the defaults and checks
// the rest.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("qdrant: port %d out of range", cfg.Port)
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if err := validCollectionName(cfg.Collection); err != nil {
		return cfg, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = DefaultRetryTimeout
	} else if cfg.RetryTimeout < 0 {
		cfg.RetryTimeout = 0
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxBatch {
		cfg.BatchSize = MaxBatch
	}
	return cfg, nil
}

// tls returns the TLS settings cfg asks for, or nil for a plain connection.
func (cfg Config) tls() (*tls.Config, error) {
	tlsCfg := cfg.TLSConfig
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("qdrant: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("qdrant: CA file %s holds no PEM certificates", cfg.CAFile)
		}
		if tlsCfg == nil {
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			tlsCfg = tlsCfg.Clone()
		}
		tlsCfg.RootCAs = pool
	}
	if tlsCfg == nil && cfg.UseTLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return tlsCfg, nil
}

// dial makes the gRPC client; it connects lazily.
func dial(cfg Config, tlsCfg *tls.Config) (*qc.Client, error) {
	return qc.NewClient(&qc.Config{
		Host: cfg.Host,
		Port: cfg.Port,
		// The key goes in through apiKeyInterceptor: the client's own
		// warns once per pooled connection, even for a loopback server.
		UseTLS:    cfg.UseTLS,
		TLSConfig: tlsCfg,
		// Open checks the version itself, with an error rather than a log line.
		SkipCompatibilityCheck: true,
		GrpcOptions: []grpc.DialOption{
			// Reconnect promptly after a server restart: grpc's default
			// backoff grows to 2 minutes.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff: backoff.Config{
					BaseDelay:  100 * time.Millisecond,
					Multiplier: 1.6,
					Jitter:     0.2,
					MaxDelay:   2 * time.Second,
				},
				MinConnectTimeout: 5 * time.Second,
			}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20)),
			grpc.WithChainUnaryInterceptor(apiKeyInterceptor(cfg.APIKey)),
		},
	})
}

// checkServer waits up to ConnectTimeout for the server to answer a health
// check, and records its version, which must be 1.16 or newer.
func (s *Store) checkServer(ctx context.Context) error {
	var reply *qc.HealthCheckReply
	err := s.retry(ctx, "health check", s.cfg.ConnectTimeout, func(ctx context.Context) error {
		var err error
		reply, err = s.client.HealthCheck(ctx)
		return err
	})
	if err != nil {
		return err
	}
	s.version = reply.GetVersion()
	if major, minor, ok := parseVersion(s.version); ok && (major < 1 || major == 1 && minor < 16) {
		return fmt.Errorf("qdrant: server at %s is version %s; cliprag needs Qdrant 1.16 or newer (it records the model in collection metadata)", s.addr, s.version)
	}
	return nil
}

// apiKeyInterceptor sends key as the api-key header of every call.
func apiKeyInterceptor(key string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "api-key", key)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validCollectionName rejects names Qdrant cannot hold.
func validCollectionName(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("qdrant: collection name %.40q... is longer than 255 bytes", name)
	}
	if strings.ContainsAny(name, "/\\:*?\"<>|\x00 ") {
		return fmt.Errorf("qdrant: collection name %q: use letters, digits, '-', '_' and '.'", name)
	}
	return nil
}

// parseVersion parses "1.16.3" into 1, 16.
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// String returns the store's address as a --store value,
// "qdrant://host:port/collection" ("qdrants://" with TLS).
func (s *Store) String() string {
	scheme := "qdrant"
	if s.cfg.UseTLS {
		scheme = "qdrants"
	}
	return scheme + "://" + s.addr + "/" + s.cfg.Collection
}

// ServerVersion returns the Qdrant server's version, as it reported at Open.
func (s *Store) ServerVersion() string { return s.version }

// CollectionName returns the name of the Qdrant collection.
func (s *Store) CollectionName() string { return s.cfg.Collection }

// Close closes the connections to the server.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("qdrant: close %s: %w", s, err)
	}
	return nil
}

// isNotFound reports whether err is gRPC NotFound (a missing collection).
func isNotFound(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.NotFound
}

// Collection returns the model and dimension the collection was built for,
// or an error wrapping retriever.ErrNotFound when it does not exist.
func (s *Store) Collection(ctx context.Context) (retriever.Collection, error) {
	var info *qc.CollectionInfo
	var exists bool
	err := s.do(ctx, "get collection", func(ctx context.Context) error {
		var err error
		exists, err = s.client.CollectionExists(ctx, s.cfg.Collection)
		if err != nil || !exists {
			return err
		}
		info, err = s.client.GetCollectionInfo(ctx, s.cfg.Collection)
		if isNotFound(err) {
			exists = false
			return nil
		}
		return err
	})
	if err != nil {
		return retriever.Collection{}, err
	}
	if !exists {
		s.setColl(nil)
		return retriever.Collection{}, fmt.Errorf("qdrant collection %s: %w", s, retriever.ErrNotFound)
	}
	c, err := s.describe(info)
	if err != nil {
		return retriever.Collection{}, err
	}
	s.setColl(&c)
	return c, nil
}

// describe reads the model and dimension from a collection's metadata and
// vector parameters, and checks that cliprag can use it.
func (s *Store) describe(info *qc.CollectionInfo) (retriever.Collection, error) {
	params := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
	if params == nil {
		return retriever.Collection{}, fmt.Errorf("qdrant collection %s has named or no vectors, not one unnamed vector: it was not made by cliprag; choose another collection", s)
	}
	meta := info.GetConfig().GetMetadata()
	model := meta[metaModel].GetStringValue()
	if model == "" {
		return retriever.Collection{}, fmt.Errorf("qdrant collection %s has no %q metadata: it was not made by cliprag (or by a Qdrant older than 1.16); choose another collection", s, metaModel)
	}
	if params.GetDistance() != qc.Distance_Cosine {
		return retriever.Collection{}, fmt.Errorf("qdrant collection %s uses %s distance, not Cosine", s, params.GetDistance())
	}
	c := retriever.Collection{Model: model, Dim: int(params.GetSize())}
	if d := intValue(meta[metaDim]); d != 0 && int(d) != c.Dim {
		return retriever.Collection{}, fmt.Errorf("qdrant collection %s: metadata says dim %d, vectors have %d", s, d, c.Dim)
	}
	return c, nil
}

func (s *Store) setColl(c *retriever.Collection) {
	s.mu.Lock()
	s.coll = c
	s.mu.Unlock()
}

// current returns the collection's description, from the cache or the
// server.
func (s *Store) current(ctx context.Context) (retriever.Collection, error) {
	s.mu.Lock()
	c := s.coll
	s.mu.Unlock()
	if c != nil {
		return *c, nil
	}
	return s.Collection(ctx)
}

// Ensure creates the collection for c (cosine distance, c.Dim, c.Model in
// its metadata, payload indexes), or checks that the existing one was built
// for c, returning a *retriever.MismatchError otherwise.
func (s *Store) Ensure(ctx context.Context, c retriever.Collection) error {
	if c.Model == "" || c.Dim <= 0 {
		return fmt.Errorf("qdrant ensure %s: need a model id and a positive dimension, got %q and %d", s, c.Model, c.Dim)
	}
	have, err := s.Collection(ctx)
	if errors.Is(err, retriever.ErrNotFound) {
		err = s.create(ctx, c)
		if err == nil {
			have, err = s.Collection(ctx)
		}
	}
	if err != nil {
		return err
	}
	if have != c {
		return &retriever.MismatchError{Store: s.String(), Have: have, Want: c}
	}
	return s.indexes(ctx)
}

// create makes the collection. A concurrent creator winning the race is
// not an error: Ensure then checks what it made.
func (s *Store) create(ctx context.Context, c retriever.Collection) error {
	return s.do(ctx, "create collection", func(ctx context.Context) error {
		err := s.client.CreateCollection(ctx, &qc.CreateCollection{
			CollectionName: s.cfg.Collection,
			VectorsConfig: qc.NewVectorsConfig(&qc.VectorParams{
				Size:     uint64(c.Dim),
				Distance: qc.Distance_Cosine,
			}),
			Metadata: map[string]*qc.Value{
				metaModel:  qc.NewValueString(c.Model),
				metaDim:    qc.NewValueInt(int64(c.Dim)),
				metaSchema: qc.NewValueInt(schema),
			},
		})
		if st, ok := status.FromError(err); ok && st.Code() == codes.AlreadyExists {
			return nil
		}
		// Qdrant 1.16 reports an existing collection as InvalidArgument.
		if err != nil && strings.Contains(err.Error(), "already exists") {
			return nil
		}
		return err
	})
}

// indexes creates the payload indexes (keyword indexes for filters, the
// full-text index for SearchText); creating an existing one is a no-op on
// the server.
func (s *Store) indexes(ctx context.Context) error {
	kw := qc.FieldType_FieldTypeKeyword
	for _, field := range []string{fTagLabel, fFolder, fFolders, fSHA256, fModel, fPath, fTextNums} {
		err := s.do(ctx, "create index on "+field, func(ctx context.Context) error {
			_, err := s.client.CreateFieldIndex(ctx, &qc.CreateFieldIndexCollection{
				CollectionName: s.cfg.Collection,
				Wait:           qc.PtrOf(true),
				FieldName:      field,
				FieldType:      &kw,
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	txt := qc.FieldType_FieldTypeText
	return s.do(ctx, "create index on "+fTextNorm, func(ctx context.Context) error {
		_, err := s.client.CreateFieldIndex(ctx, &qc.CreateFieldIndexCollection{
			CollectionName:   s.cfg.Collection,
			Wait:             qc.PtrOf(true),
			FieldName:        fTextNorm,
			FieldType:        &txt,
			FieldIndexParams: textIndex(),
		})
		return err
	})
}

// Drop deletes the whole collection, points and all. Dropping a missing
// collection is not an error.
func (s *Store) Drop(ctx context.Context) error {
	s.setColl(nil)
	return s.do(ctx, "drop collection", func(ctx context.Context) error {
		// The low-level call: the client's DeleteCollection turns "nothing
		// to delete" (result false) into an error.
		_, err := s.client.GetCollectionsClient().Delete(ctx, &qc.DeleteCollection{CollectionName: s.cfg.Collection})
		if isNotFound(err) {
			return nil
		}
		return err
	})
}

// Upsert inserts or replaces records by ID, in batches of at most
// Config.BatchSize points, each applied before the next is sent, then
// deletes the other points at the records' paths by filter. Every record is
// checked first (UUID id, vector of the collection's dimension, payload
// model equal to the collection's, UTF-8 strings, one record per path), so
// a bad record fails the call before anything is written. Upsert is
// idempotent; it is not atomic: a crash after the points are written and
// before the delete leaves the old records at those paths (see
// retriever.Store).
func (s *Store) Upsert(ctx context.Context, recs []retriever.Record) error {
	if len(recs) == 0 {
		return nil
	}
	c, err := s.current(ctx)
	if err != nil {
		return fmt.Errorf("qdrant upsert %s: %w (call Ensure first)", s, err)
	}
	points, err := s.points(recs, c)
	if err != nil {
		return err
	}
	for start := 0; start < len(points); start += s.cfg.BatchSize {
		batch := points[start:min(start+s.cfg.BatchSize, len(points))]
		op := fmt.Sprintf("upsert of records %d-%d of %d", start, start+len(batch)-1, len(points))
		err := s.write(ctx, op, func(ctx context.Context) error {
			_, err := s.client.Upsert(ctx, &qc.UpsertPoints{
				CollectionName: s.cfg.Collection,
				Wait:           qc.PtrOf(true),
				Points:         batch,
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	return s.deleteOthersAt(ctx, recs, points)
}

// points checks recs and converts them to Qdrant points.
func (s *Store) points(recs []retriever.Record, c retriever.Collection) ([]*qc.PointStruct, error) {
	points := make([]*qc.PointStruct, len(recs))
	paths := make(map[string]string, len(recs)) // path -> id
	for i, r := range recs {
		id, ok := canonicalID(r.ID)
		if !ok {
			return nil, fmt.Errorf("qdrant upsert %s: record %d: id %q is not a UUID (use retriever.RecordID)", s, i, r.ID)
		}
		r.ID = id
		if p := r.Payload.Path; p != "" {
			if other, ok := paths[p]; ok && other != id {
				return nil, fmt.Errorf("qdrant upsert %s: records %s and %s in one batch have the same path %s", s, other, id, p)
			}
			paths[p] = id
		}
		if len(r.Vector) != c.Dim {
			return nil, fmt.Errorf("qdrant upsert %s: record %s: vector has %d dimensions, collection has %d", s, id, len(r.Vector), c.Dim)
		}
		if r.Payload.Model != "" && r.Payload.Model != c.Model {
			return nil, fmt.Errorf("qdrant upsert %s: record %s is from model %q, the collection holds %q: %w", s, id, r.Payload.Model, c.Model, retriever.ErrModelMismatch)
		}
		p, err := toPoint(r)
		if err != nil {
			return nil, fmt.Errorf("qdrant upsert %s: %w", s, err)
		}
		points[i] = p
	}
	return points, nil
}

// deleteOthersAt deletes the points whose path is that of a record in recs
// but whose id is none of the points just written.
func (s *Store) deleteOthersAt(ctx context.Context, recs []retriever.Record, points []*qc.PointStruct) error {
	var paths []string
	for _, r := range recs {
		if r.Payload.Path != "" {
			paths = append(paths, retriever.PathKey(r.Payload.Path))
		}
	}
	if len(paths) == 0 {
		return nil
	}
	ids := make([]*qc.PointId, len(points))
	for i, p := range points {
		ids[i] = p.GetId()
	}
	for start := 0; start < len(paths); start += s.cfg.BatchSize {
		chunk := paths[start:min(start+s.cfg.BatchSize, len(paths))]
		err := s.write(ctx, "delete of replaced records", func(ctx context.Context) error {
			_, err := s.client.Delete(ctx, &qc.DeletePoints{
				CollectionName: s.cfg.Collection,
				Wait:           qc.PtrOf(true),
				Points: qc.NewPointsSelectorFilter(&qc.Filter{
					Must:    []*qc.Condition{qc.NewMatchKeywords(fPath, chunk...)},
					MustNot: []*qc.Condition{qc.NewHasID(ids...)},
				}),
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// write is do for a write, calling Config.AfterWrite once it succeeded.
func (s *Store) write(ctx context.Context, op string, call func(ctx context.Context) error) error {
	if err := s.do(ctx, op, call); err != nil {
		return err
	}
	if s.cfg.AfterWrite != nil {
		s.cfg.AfterWrite(op)
	}
	return nil
}

// Search returns up to k hits by descending cosine similarity that pass f.
func (s *Store) Search(ctx context.Context, vector []float32, k int, f retriever.Filter) ([]retriever.Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	c, err := s.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("qdrant search %s: %w", s, err)
	}
	if len(vector) != c.Dim {
		return nil, fmt.Errorf("qdrant search %s: query vector has %d dimensions, collection has %d", s, len(vector), c.Dim)
	}
	req := &qc.QueryPoints{
		CollectionName: s.cfg.Collection,
		Query:          qc.NewQueryDense(vector),
		Filter:         toFilter(f),
		Limit:          qc.PtrOf(uint64(k)),
		WithPayload:    qc.NewWithPayload(true),
	}
	if f.MinScore != 0 {
		req.ScoreThreshold = qc.PtrOf(f.MinScore)
	}
	var res []*qc.ScoredPoint
	err = s.do(ctx, "search", func(ctx context.Context) error {
		var err error
		res, err = s.client.Query(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	hits := make([]retriever.Hit, len(res))
	for i, p := range res {
		hits[i] = retriever.Hit{ID: p.GetId().GetUuid(), Score: p.GetScore(), Payload: fromPayload(p.GetPayload())}
	}
	return hits, nil
}

// Get returns the records with these ids that exist, in the given order,
// with their vectors. Missing ids and ids that are not UUIDs are skipped.
func (s *Store) Get(ctx context.Context, ids []string) ([]retriever.Record, error) {
	var want []*qc.PointId
	seen := map[string]bool{}
	for _, id := range ids {
		if cid, ok := canonicalID(id); ok && !seen[cid] {
			seen[cid] = true
			want = append(want, qc.NewIDUUID(cid))
		}
	}
	found := make(map[string]retriever.Record, len(want))
	for start := 0; start < len(want); start += scrollPage {
		chunk := want[start:min(start+scrollPage, len(want))]
		var res []*qc.RetrievedPoint
		err := s.do(ctx, "get", func(ctx context.Context) error {
			var err error
			res, err = s.client.Get(ctx, &qc.GetPoints{
				CollectionName: s.cfg.Collection,
				Ids:            chunk,
				WithPayload:    qc.NewWithPayload(true),
				WithVectors:    qc.NewWithVectors(true),
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range res {
			id := p.GetId().GetUuid()
			found[id] = retriever.Record{
				ID:      id,
				Vector:  p.GetVectors().GetVector().GetDenseVector().GetData(),
				Payload: fromPayload(p.GetPayload()),
			}
		}
	}
	out := make([]retriever.Record, 0, len(found))
	for _, id := range ids {
		cid, _ := canonicalID(id)
		if r, ok := found[cid]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Delete removes records by id; missing ids are not an error.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	var del []*qc.PointId
	for _, id := range ids {
		if cid, ok := canonicalID(id); ok {
			del = append(del, qc.NewIDUUID(cid))
		}
	}
	for start := 0; start < len(del); start += scrollPage {
		chunk := del[start:min(start+scrollPage, len(del))]
		err := s.write(ctx, "delete", func(ctx context.Context) error {
			_, err := s.client.Delete(ctx, &qc.DeletePoints{
				CollectionName: s.cfg.Collection,
				Wait:           qc.PtrOf(true),
				Points:         qc.NewPointsSelectorIDs(chunk),
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Files calls fn for every record, scrolling the collection a page at a
// time with only the fields FileEntry needs, until fn returns an error,
// which Files returns unchanged.
func (s *Store) Files(ctx context.Context, fn func(retriever.FileEntry) error) error {
	var offset *qc.PointId
	for {
		var page []*qc.RetrievedPoint
		var next *qc.PointId
		err := s.do(ctx, "scroll", func(ctx context.Context) error {
			var err error
			page, next, err = s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
				CollectionName: s.cfg.Collection,
				Offset:         offset,
				Limit:          qc.PtrOf(uint32(scrollPage)),
				WithPayload:    qc.NewWithPayloadInclude(fPath, fPathRaw, fSHA256, fSize, fModTime, fTagSet, fTextBy),
				WithVectors:    qc.NewWithVectors(false),
			})
			return err
		})
		if err != nil {
			return err
		}
		for _, p := range page {
			m := p.GetPayload()
			err := fn(retriever.FileEntry{
				ID:      p.GetId().GetUuid(),
				Path:    rawString(m[fPath], m[fPathRaw]),
				SHA256:  m[fSHA256].GetStringValue(),
				Size:    intValue(m[fSize]),
				ModTime: parseTime(m[fModTime].GetStringValue()),
				TagSet:  m[fTagSet].GetStringValue(),
				TextBy:  m[fTextBy].GetStringValue(),
			})
			if err != nil {
				return err
			}
		}
		if next == nil || len(page) == 0 {
			return nil
		}
		offset = next
	}
}

// Count returns the exact number of records.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n uint64
	err := s.do(ctx, "count", func(ctx context.Context) error {
		var err error
		n, err = s.client.Count(ctx, &qc.CountPoints{
			CollectionName: s.cfg.Collection,
			Exact:          qc.PtrOf(true),
		})
		return err
	})
	return int(n), err
}

// Tags returns every tag label with the number of images that carry it,
// from an exact facet count over the "tags[].label" keyword index.
func (s *Store) Tags(ctx context.Context) (map[string]int, error) {
	for limit := uint64(4096); ; limit *= 8 {
		var hits []*qc.FacetHit
		err := s.do(ctx, "facet tags", func(ctx context.Context) error {
			var err error
			hits, err = s.client.Facet(ctx, &qc.FacetCounts{
				CollectionName: s.cfg.Collection,
				Key:            fTagLabel,
				Limit:          qc.PtrOf(limit),
				Exact:          qc.PtrOf(true),
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		if uint64(len(hits)) >= limit {
			continue // there may be more labels than we asked for
		}
		out := make(map[string]int, len(hits))
		for _, h := range hits {
			out[h.GetValue().GetStringValue()] = int(h.GetCount())
		}
		return out, nil
	}
}
