package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/cliprag/cliprag/internal/safefs"
)

// readFile reads the file a candidate names, refusing one over limit
// bytes, and returns its bytes with the file's information as of the read
// (so the size and time recorded describe the bytes that were hashed). It
// is the one place a run opens an image file: through the candidate's root
// (a link swapped in since the walk cannot lead out of it), refusing
// anything but a regular file without blocking, and returning when ctx
// ends even if the file system hangs.
func readFile(ctx context.Context, c candidate, limit int64) ([]byte, fs.FileInfo, error) {
	data, fi, err := safefs.ReadFileIn(ctx, c.root, c.rel, limit)
	switch {
	case err == nil:
		return data, fi, nil
	case errors.Is(err, safefs.ErrOutside):
		return nil, nil, fmt.Errorf("a symbolic link on the path now leads outside %s; not read", c.root.Name())
	case errors.Is(err, safefs.ErrTooLarge):
		return nil, nil, fmt.Errorf("file is over the %d-byte limit", limit)
	}
	return nil, nil, unwrapPath(err)
}
