// Package imageformat is cliprag's table of image formats: one Format per
// kind of file, registered the way Go's image.RegisterFormat registers
// decoders, and read by everything that needs to know about formats: the
// decoder (which format is this data, how is it decoded, where is its
// orientation), the folder walk (which extensions to index), the tools
// (which MIME type to report) and the thumbnail and resource code (can a
// client show the file as it is, or must it be re-encoded).
//
// The package itself is small, cgo-free and imports only the standard
// library. The formats cliprag reads are registered by embed/preprocess,
// which owns the decoders; anything that reads the table imports that
// package (blank, when it needs nothing else from it), just as a program
// using image.Decode imports _ "image/png". Adding a format is one
// Register call in embed/preprocess/formats.go.
package imageformat

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"sync"
)

// Format describes one image format.
type Format struct {
	// Name is the short name reported in Info.Format and stored in the
	// index ("jpeg", "png", "heic", ...).
	Name string
	// Extensions are the file-name extensions, lower case with the dot,
	// the usual one first.
	Extensions []string
	// MIMEType is the IANA media type of the file.
	MIMEType string
	// Magic are the byte prefixes that identify the format; '?' matches
	// any byte, as in image.RegisterFormat. At least one must match.
	Magic []string
	// Match, when set, further checks data whose prefix matched Magic (for
	// formats that share a container, such as camera RAW files that are
	// TIFFs, or HEIC and AVIF that are ISO media files told apart by
	// brand). Sniff tries formats in registration order, so a more
	// specific format registers before the general one.
	Match func(data []byte) bool
	// DecodeConfig returns the dimensions as displayed: after any rotation
	// the container or decoder applies (not the EXIF orientation that
	// Orientation reports, which the caller applies).
	DecodeConfig func(data []byte) (image.Config, error)
	// Decode decodes data, whose DecodeConfig is cfg. minSide, when
	// positive, lets the decoder return a reduced image whose shorter side
	// is at least minSide (JPEG DCT scaling); decoders that cannot reduce
	// ignore it. The image comes back in the Go type that tells the
	// preprocessor how Pillow would open it.
	Decode func(data []byte, cfg image.Config, minSide int) (image.Image, error)
	// Orientation returns the EXIF orientation (1–8) stored in the file,
	// which the caller applies after Decode; 1 when there is none. nil
	// means the format carries no orientation the caller must apply (the
	// decoder already did, as for HEIC's and AVIF's irot/imir).
	Orientation func(data []byte) int
	// Displayable reports that browsers and MCP clients show the file as it
	// is; files of other formats are re-encoded (as JPEG) for display.
	Displayable bool
	// Preview marks formats read through an embedded JPEG preview rather
	// than their own pixels (camera RAW files).
	Preview bool
}

var (
	mu      sync.RWMutex
	formats []Format
)

// Register adds f to the table. It panics when f has no name, decoder or
// magic, or when its name or one of its extensions is already registered:
// the table is built once, from init functions.
func Register(f Format) {
	if f.Name == "" || f.Decode == nil || f.DecodeConfig == nil || len(f.Magic) == 0 {
		panic(fmt.Sprintf("imageformat: Register(%q): name, Magic, Decode and DecodeConfig are required", f.Name))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, g := range formats {
		if g.Name == f.Name {
			panic(fmt.Sprintf("imageformat: format %q registered twice", f.Name))
		}
		for _, e := range f.Extensions {
			if slices.Contains(g.Extensions, e) {
				panic(fmt.Sprintf("imageformat: extension %s of %q already belongs to %q", e, f.Name, g.Name))
			}
		}
	}
	for _, e := range f.Extensions {
		if !strings.HasPrefix(e, ".") || strings.ToLower(e) != e {
			panic(fmt.Sprintf("imageformat: extension %q of %q must be lower case and start with a dot", e, f.Name))
		}
	}
	f.Extensions = slices.Clone(f.Extensions)
	f.Magic = slices.Clone(f.Magic)
	formats = append(formats, f)
}

// Formats returns every registered format, in registration order.
func Formats() []Format {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Clone(formats)
}

// Lookup returns the format called name ("jpeg"), also accepting one of
// its extensions without the dot ("jpg", "tif"); case is ignored.
func Lookup(name string) (Format, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return Format{}, false
	}
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range formats {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range formats {
		if slices.Contains(f.Extensions, "."+name) {
			return f, true
		}
	}
	return Format{}, false
}

// ByExtension returns the format a file-name extension belongs to (".JPG"
// and "jpg" both find JPEG).
func ByExtension(ext string) (Format, bool) {
	ext = strings.ToLower(strings.TrimSpace(ext))
	if ext == "" {
		return Format{}, false
	}
	if !strings.HasPrefix(ext, ".") {
		ext = "." + ext
	}
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range formats {
		if slices.Contains(f.Extensions, ext) {
			return f, true
		}
	}
	return Format{}, false
}

// Extensions returns the extensions of every registered format, in
// registration order.
func Extensions() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for _, f := range formats {
		out = append(out, f.Extensions...)
	}
	return out
}

// MIMEType returns the MIME type of the format called name (see Lookup),
// or "application/octet-stream" for an unknown one.
func MIMEType(name string) string {
	if f, ok := Lookup(name); ok {
		return f.MIMEType
	}
	return "application/octet-stream"
}

// Sniff returns the format of data from its leading bytes: the first
// registered format one of whose Magic prefixes matches and whose Match,
// if any, accepts data.
func Sniff(data []byte) (Format, bool) {
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range formats {
		if !slices.ContainsFunc(f.Magic, func(m string) bool { return matchMagic(m, data) }) {
			continue
		}
		if f.Match == nil || f.Match(data) {
			return f, true
		}
	}
	return Format{}, false
}

// matchMagic reports whether data starts with magic, '?' matching any byte.
func matchMagic(magic string, data []byte) bool {
	if len(data) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		if magic[i] != data[i] && magic[i] != '?' {
			return false
		}
	}
	return true
}
