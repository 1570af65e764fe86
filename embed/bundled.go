package embed

import (
	"io/fs"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// bundledFS returns the files of the bundled tiny-shapes model, embedded in
// the binary by package embed/tinyshapes.
func bundledFS() fs.FS { return tinyshapes.FS }
