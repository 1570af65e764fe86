// Package local is cliprag's embedded image index: the default store, which
// needs no server and no set-up, just a directory.
//
// # Durability: bbolt
//
// Everything lives in one go.etcd.io/bbolt file (index.db): the records
// and the search index built over them. bbolt is a pure-Go, copy-on-write
// B+tree with a single writer and ACID transactions: a commit writes new
// pages, fsyncs, then flips the meta page, so a process killed at any
// moment (SIGKILL included) leaves the last committed transaction readable.
// Each Upsert and Delete is one transaction, and so is each change of the
// index, so records and index never disagree after a crash (TestCrashSafety
// kills a writer 30 times while it writes and rebuilds). The layout is in
// disk.go; an index written by an older cliprag (format 1) is upgraded by
// the first writer that opens it.
//
// # Text
//
// The text read in images (Payload.Text) has a full-text index in the same
// file, written in the record's own transaction: postings keyed by term
// and row, so a write touches only its record's terms (text.go). Store
// implements retriever.TextSearcher; terms and scores are package
// retriever/fulltext's (Chinese by characters and pairs, words, NFKC and
// lower case, BM25).
//
// # Memory: int8 codes off the Go heap
//
// Search runs in memory over a compact copy of each vector: int8 codes
// (scalar quantisation with one scale per vector, code = round(127·v/max|v|)),
// its sign bits, and what filters need (folder and tag set, as small ids).
// At 512 dimensions that is about 600 bytes per image, against 2 KB for
// the float32 vector; the float32 vectors, ids and payloads stay on disk.
// A search ranks the rows it scans by their codes (an error of about 1e-3
// in cosine) and re-scores the best few (2k+32 for k hits) with their
// exact float32 vectors, read from the file, so scores are exact and so is
// the ranking among the candidates.
//
// The table grows in chunks of 4096 rows allocated outside the Go heap
// (anonymous memory maps), so growing never copies what it holds and the
// garbage collector's headroom (the heap may grow to twice its live size)
// does not apply to it: the process holds about what the table holds
// (TestMemoryWhileGrowing checks the resident set while growing and after
// opening).
//
// # Search: flat, then IVF with many lists
//
// Up to ExactThreshold records (20 000 by default) a search scans every
// row. Above it, the writer builds an IVF index: spherical k-means trains
// about 10·√n centroids on a sample, every row is filed under its nearest
// centroid, and a search scans the rows of the nprobe lists nearest the
// query. nprobe is calibrated after each build on queries made from stored
// vectors plus noise, to the smallest value whose recall@10 reaches
// TargetRecall (0.97, for a 0.95 guarantee with margin). When calibration
// finds no structure to use (uniform random vectors), the store keeps
// scanning every row. Filtered searches probe further lists until k rows
// pass the filter, so a selective filter still returns k hits when they
// exist.
//
// Three things make the build fit a minute for a million 512-d vectors on
// two cores, where a plain k-means would take an hour: finding a vector's
// nearest centroid narrows the field by sign bits first (the share of
// differing sign bits estimates the angle; see centroids in ivf.go); k-means
// compares a point with its own cluster's centroid with the point left
// out, and re-seeds emptied centroids from the points that fit worst, so
// clusters that no random seed fell in still gather in one list; and there
// are many small lists (10 000 of 100 rows at a million), so a query scans
// a few hundred rows.
//
// We measured the alternatives (figures in BENCHMARKS.md, section store):
// a graph index (github.com/coder/hnsw, BenchmarkHNSWBuild) takes about
// 100 µs per insert, far over a minute for a million; the previous
// IVF-flat (2·√n lists, float32 vectors in memory) took 313 s to build at
// a million and was rejected by its own calibration; a flat scan of sign
// bits (no index) is memory-bound at about 13 ms of CPU per million rows.
//
// The index is built once a bulk load ends, not as the collection grows: a
// writer builds BuildDelay (2 s) after its last write, or at once when
// told (BuildIndex; rag-ingest calls it at the end of a run), and rebuilds
// when the collection has doubled or halved since. Rows written after a
// build are filed under the existing centroids as they arrive. The index
// is persisted with the records; readers load it as it is, so a search at
// a given size costs the same run after run, and a reader never builds one
// (it scans every row until the writer has persisted one).
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
// each transaction, and a search opens it to read its candidates' vectors,
// so ReadOnly stores (rag-search, rag-mcp) open and search while rag-ingest
// runs. A reader catches up with the writer's commits from a log of the
// rows each commit changed, and reloads only when the index was rebuilt.
package local
