// Package faults is cliprag's fault suite: the commands built and run as
// real processes against hostile input and failing surroundings, each with
// the outcome it must have. scripts/faults.sh runs it together with the
// kill tests that live beside the code they test.
//
//   - hostile files (empty, truncated, decompression bombs, FIFOs, symlink
//     loops and links out of the root, unreadable files, names that are not
//     UTF-8 or carry newlines and terminal escapes): each is indexed,
//     skipped or failed with a clear reason, nothing hangs, and a second run
//     changes nothing;
//   - non-regular files named as paths to rag-ingest, rag-search and the
//     MCP tools are refused at once;
//   - SIGINT and SIGTERM end every command, and an interrupted ingest
//     continues where it stopped;
//   - decoded pixels stay within the process-wide budget: three concurrent
//     100-megapixel 16-bit PNGs, through rag-mcp and through rag-ingest,
//     peak below 1.5 GB of resident memory;
//   - Qdrant killed and restarted in the middle of an ingest loses nothing.
//
// Kills at every commit point of ingest and re-index, for both stores, are
// tools/ingest's TestReindexKilledAtEveryWrite; the embedded store's crash
// safety at the file level is retriever/local's TestCrashSafety.
package faults
