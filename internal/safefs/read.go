package safefs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

// MaxReads bounds the reads in flight in the process. A read whose caller
// gave up (its context ended while the file system hung) keeps its slot
// until the kernel returns, so a mount that hangs every read can hold at
// most MaxReads goroutines and descriptors, and later callers wait for a
// slot until their own deadline instead of piling up.
const MaxReads = 64

var reads = make(chan struct{}, MaxReads)

// ReadFile reads the regular file at path (see Open), at most limit bytes
// (see Read). It returns when ctx ends even if the open or a read is stuck
// in the kernel; the stuck call finishes in the background and its file is
// closed then.
func ReadFile(ctx context.Context, path string, limit int64) ([]byte, fs.FileInfo, error) {
	return readAsync(ctx, path, limit, func() (*os.File, fs.FileInfo, error) { return Open(path) })
}

// ReadFileIn is ReadFile for name inside root (see OpenIn).
func ReadFileIn(ctx context.Context, root *os.Root, name string, limit int64) ([]byte, fs.FileInfo, error) {
	return readAsync(ctx, name, limit, func() (*os.File, fs.FileInfo, error) { return OpenIn(root, name) })
}

type readResult struct {
	data []byte
	info fs.FileInfo
	err  error
}

func readAsync(ctx context.Context, name string, limit int64, open func() (*os.File, fs.FileInfo, error)) ([]byte, fs.FileInfo, error) {
	select {
	case reads <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("read %s: %w", name, context.Cause(ctx))
	}
	done := make(chan readResult, 1)
	go func() {
		defer func() { <-reads }()
		f, fi, err := open()
		if err != nil {
			done <- readResult{err: err}
			return
		}
		defer f.Close()
		data, fi, err := Read(f, fi, limit)
		done <- readResult{data, fi, err}
	}()
	select {
	case r := <-done:
		return r.data, r.info, r.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("read %s: %w", name, context.Cause(ctx))
	}
}
