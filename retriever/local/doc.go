// Package local is cliprag's embedded image index: the default store, which
// needs no server and no set-up, just a directory.
//
// # Durability: bbolt
//
// Records live in one go.etcd.io/bbolt file (index.db). bbolt is a pure-Go,
// copy-on-write B+tree with a single writer and ACID transactions: a commit
// writes new pages, fsyncs, then flips the meta page, so a process killed at
// any moment (SIGKILL included) leaves the last committed transaction
// readable, and an Upsert call, one transaction, is all or nothing. It is
// the store behind etcd, is maintained, and needs no cgo. Vectors are kept as
// raw little-endian float32 bytes in their own bucket and payloads as JSON in
// another, so opening reads the vectors straight into memory and decodes the
// payloads on every CPU.
//
// # Search: exact, then IVF-flat
//
// Search runs in memory. All vectors sit in one contiguous []float32 slab
// and are L2-normalised on the way in, so cosine similarity is a dot
// product, computed with AVX2/FMA (github.com/viterin/vek) and split across
// CPUs for large scans. Up to ExactThreshold records (20 000 by default) a
// search is exact.
//
// Above it, the store builds an IVF-flat index in the background: spherical
// k-means over a sample picks about 2·√n centroids; each vector is filed
// under its nearest centroid; a search scores the centroids and scans the
// rows of the nprobe nearest lists. nprobe is calibrated after each build on
// queries made from stored vectors plus noise, to the smallest value whose
// recall@10 against exact search reaches TargetRecall (0.97, for a 0.95
// guarantee with margin). Until a build finishes, searches are exact, so
// opening never waits for an index. New records are filed under their
// nearest centroid as they arrive; the index is rebuilt when the collection
// has doubled or halved. Filtered searches probe further lists until k rows
// pass the filter, so a selective filter still returns k hits when they
// exist (in the limit an exact scan of the filtered subset).
//
// IVF-flat was chosen over an HNSW graph (github.com/coder/hnsw, which is in
// go.mod) by measurement on this project's 2-core machine:
// BenchmarkHNSWBuild shows coder/hnsw taking about 100 µs per 512-d insert
// already at 5k vectors, single-threaded and growing with log n, so a 100k
// graph takes well over 10 s — at every open, unless the graph is persisted
// beside the bbolt file and kept in step with it across crashes — and it
// keeps its own copy of every vector. IVF-flat trains on every CPU in the
// background while exact search serves, needs 8 bytes per vector beyond the
// slab, takes deletes and updates in O(1), and its recall is set by one
// number, calibrated rather than guessed. When calibration finds the data
// has no cluster structure (uniform random vectors), so that probing would
// scan most rows, the store keeps searching exactly instead.
//
// # Concurrency and processes
//
// Within a process, searches hold a read lock only while they scan; a
// write commits its bbolt transaction first and takes the write lock only to
// apply the batch to memory, so readers wait at most for that swap.
//
// Across processes, one writer at a time: Open takes an flock on LOCK in the
// directory (recording pid and command) and a second writer fails after
// LockTimeout with an error naming the holder ("index … is being written by
// another process (pid 4242, rag-ingest, since …); retry when it finishes,
// or open it read-only"). The writer opens index.db only for the length of
// each transaction, so ReadOnly stores — rag-search, rag-mcp — open and load
// while rag-ingest runs, keep answering from memory, and reload in the
// background when the file changes.
package local
