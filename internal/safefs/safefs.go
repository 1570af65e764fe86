// Package safefs opens image files the way a server that reads paths from
// untrusted callers must: never blocking on something that is not a
// regular file (a FIFO, a device, a socket), never leaving a root folder
// (checking and opening are one step, through os.Root), and never holding
// a caller past its context's deadline when the file system itself is
// stuck (a hung network or FUSE mount).
//
// It imports nothing of cliprag, so every layer that reads files (the
// decoder, the shared operations, the commands) uses it.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Errors the functions wrap; test them with errors.Is.
var (
	// ErrNotRegular: the path names a folder, FIFO, device or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than the caller's limit.
	ErrTooLarge = errors.New("file too large")
	// ErrOutside: the path, or a symbolic link on it, leads out of the root.
	ErrOutside = errors.New("outside the root")
)

// openFlags never block in open (O_NONBLOCK: a FIFO without a writer
// opens at once) and never make a terminal the controlling one.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// Open opens path for reading and returns it with its information only
// when it is a regular file (symbolic links followed). Anything else is
// refused with ErrNotRegular, without a read that could block.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	return regular(f)
}

// OpenIn opens name, relative to root, for reading, through root: every
// component, symbolic links included, must stay inside it, and checking
// and opening are one step, so a link swapped in by another process
// cannot make it read outside. A link that leads out is refused with
// ErrOutside. An absolute link whose target is inside root, which
// os.Root refuses, is resolved and opened through root again. As with
// Open, only a regular file is returned.
func OpenIn(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	f, err := root.OpenFile(name, openFlags, 0)
	if isEscape(err) {
		var rel string
		rel, err = resolveInside(root.Name(), name)
		if err == nil {
			f, err = root.OpenFile(rel, openFlags, 0)
		}
	}
	if isEscape(err) {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: ErrOutside}
	}
	if err != nil {
		return nil, nil, err
	}
	return regular(f)
}

// StatIn returns the information of name inside root (links followed, as
// OpenIn follows them), or an error wrapping ErrOutside when a link on it
// leads out of root.
func StatIn(root *os.Root, name string) (fs.FileInfo, error) {
	fi, err := root.Stat(name)
	if isEscape(err) {
		var rel string
		rel, err = resolveInside(root.Name(), name)
		if err == nil {
			fi, err = root.Stat(rel)
		}
	}
	if isEscape(err) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: ErrOutside}
	}
	return fi, err
}

// ResolveIn returns name, relative to root, with its symbolic links
// resolved, when it stays inside root (ErrOutside otherwise). The result
// is for opening through root again, which keeps it confined even when a
// link changes in between.
func ResolveIn(root *os.Root, name string) (string, error) {
	rel, err := resolveInside(root.Name(), name)
	if isEscape(err) {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: ErrOutside}
	}
	return rel, err
}

// resolveInside resolves dir/name and returns it relative to dir, or an
// escape error when it lies outside dir.
func resolveInside(dir, name string) (string, error) {
	rdir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	res, err := filepath.EvalSymlinks(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(rdir, res)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: errEscapes}
	}
	return rel, nil
}

var errEscapes = errors.New("path escapes from parent")

// isEscape reports whether err is os.Root's refusal of a path that leads
// out of the root (the standard library does not export that error).
func isEscape(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Err == errEscapes || pe.Err.Error() == errEscapes.Error()
}

// regular returns f and its information when f is a regular file, and
// closes it otherwise.
func regular(f *os.File) (*os.File, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := CheckRegular(fi); err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: f.Name(), Err: err}
	}
	return f, fi, nil
}

// CheckRegular returns nil for a regular file, else an error wrapping
// ErrNotRegular that says what it is ("not a regular file (a FIFO)").
func CheckRegular(fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))
}

// kind names a file mode's type for messages.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return m.Type().String()
}

// Read reads f, whose information is fi, refusing files over limit bytes
// (ErrTooLarge), and returns its bytes with its information after the read
// (so a size and time recorded with a hash describe the bytes hashed).
func Read(f *os.File, fi fs.FileInfo, limit int64) ([]byte, fs.FileInfo, error) {
	if fi.Size() > limit {
		return nil, nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrTooLarge, fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("%w: over the %d-byte limit", ErrTooLarge, limit)
	}
	if after, err := f.Stat(); err == nil {
		fi = after
	}
	return data, fi, nil
}

// OpenDirIn opens the folder name inside root for listing, following
// links inside root as OpenIn does; a link that leads out is refused with
// ErrOutside, anything but a folder with syscall.ENOTDIR.
func OpenDirIn(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY, 0)
	if isEscape(err) {
		var rel string
		rel, err = resolveInside(root.Name(), name)
		if err == nil {
			f, err = root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY, 0)
		}
	}
	if isEscape(err) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrOutside}
	}
	return f, err
}
