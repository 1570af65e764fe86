package safefs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

// MaxCalls bounds the file system calls in flight in the process through
// Do. A call whose caller gave up (its context ended while the file system
// hung) keeps its slot until the kernel returns, so a mount that hangs
// every call can hold at most MaxCalls goroutines and descriptors, and
// later callers wait for a slot until their own deadline instead of piling
// up.
const MaxCalls = 64

var calls = make(chan struct{}, MaxCalls)

// Do runs fn, which may block in the kernel (open, read, stat, readdir on
// a hung network or FUSE mount), and returns its result, or an error
// wrapping ctx's cause as soon as ctx ends; fn then finishes in the
// background, and cleanup, when not nil, is given its result to release
// (close a file, say).
func Do[T any](ctx context.Context, name string, fn func() (T, error), cleanup func(T)) (T, error) {
	var zero T
	select {
	case calls <- struct{}{}:
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w", name, context.Cause(ctx))
	}
	type result struct {
		v   T
		err error
	}
	// Unbuffered: a result is either taken by the caller or, once the call
	// is abandoned, cleaned up by the goroutine, never left in a buffer.
	done := make(chan result)
	abandoned := make(chan struct{})
	go func() {
		defer func() { <-calls }()
		v, err := fn()
		select {
		case done <- result{v, err}:
		case <-abandoned:
			if err == nil && cleanup != nil {
				cleanup(v)
			}
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		close(abandoned)
		// fn may have finished meanwhile: then its result is ours to drop.
		select {
		case r := <-done:
			if r.err == nil && cleanup != nil {
				cleanup(r.v)
			}
		default:
		}
		return zero, fmt.Errorf("%s: %w", name, context.Cause(ctx))
	}
}

// file is a read file's bytes and information.
type file struct {
	data []byte
	info fs.FileInfo
}

// ReadFile reads the regular file at path (see Open), at most limit bytes
// (see Read). It returns when ctx ends even if the open or a read is stuck
// in the kernel (see Do).
func ReadFile(ctx context.Context, path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := Do(ctx, "read "+path, func() (file, error) { return readOpened(Open(path))(limit) }, nil)
	return f.data, f.info, err
}

// ReadFileIn is ReadFile for name inside root (see OpenIn).
func ReadFileIn(ctx context.Context, root *os.Root, name string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := Do(ctx, "read "+name, func() (file, error) { return readOpened(OpenIn(root, name))(limit) }, nil)
	return f.data, f.info, err
}

// ReadFileUnder is ReadFileIn for name inside the folder dir, which is
// opened as the root within the same bounded call.
func ReadFileUnder(ctx context.Context, dir, name string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := Do(ctx, "read "+name, func() (file, error) {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return file{}, err
		}
		defer r.Close()
		return readOpened(OpenIn(r, name))(limit)
	}, nil)
	return f.data, f.info, err
}

// StatUnder is StatIn for name inside the folder dir, bounded by ctx.
func StatUnder(ctx context.Context, dir, name string) (fs.FileInfo, error) {
	return Do(ctx, "stat "+name, func() (fs.FileInfo, error) {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return StatIn(r, name)
	}, nil)
}

// ReadDirIn lists the folder name inside root (see OpenDirIn), bounded by ctx.
func ReadDirIn(ctx context.Context, root *os.Root, name string) ([]fs.DirEntry, error) {
	return Do(ctx, "read folder "+name, func() ([]fs.DirEntry, error) {
		f, err := OpenDirIn(root, name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return f.ReadDir(-1)
	}, nil)
}

// readOpened reads a file Open or OpenIn returned, and closes it.
func readOpened(f *os.File, fi fs.FileInfo, err error) func(limit int64) (file, error) {
	return func(limit int64) (file, error) {
		if err != nil {
			return file{}, err
		}
		defer f.Close()
		data, fi, err := Read(f, fi, limit)
		return file{data, fi}, err
	}
}
