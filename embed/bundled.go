package embed

import (
	"errors"
	"io/fs"
)

// bundledFS returns the files of the bundled tiny-shapes model.
// Pending: wired to package embed/tinyshapes's embedded FS once it lands.
func bundledFS() fs.FS { return missingFS{} }

type missingFS struct{}

func (missingFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("bundled tiny-shapes model not built into this binary yet")}
}
