package hub

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TarFile is one member to take out of an archive.
type TarFile struct {
	Name   string      // path inside the archive, e.g. "package/assets/model.onnx" (a leading "./" is ignored)
	Dest   string      // where to write it
	SHA256 string      // expected sha256 (hex); empty: unchecked
	Mode   fs.FileMode // permissions; 0 means 0o644
}

// ExtractTarGz streams the gzipped tar archive once and writes each of
// files to its Dest, through a temporary file checked against SHA256 and
// renamed into place, so a failed extraction leaves no partial file. It
// fails when a member is missing or not a regular file; members written
// before the failure stay.
func ExtractTarGz(archive string, files []TarFile) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		return fmt.Errorf("read %s: %w", archive, err)
	}
	defer gz.Close()
	want := map[string]TarFile{}
	for _, f := range files {
		want[strings.TrimPrefix(f.Name, "./")] = f
	}
	tr := tar.NewReader(gz)
	for len(want) > 0 {
		hdr, err := tr.Next()
		if err == io.EOF {
			var names []string
			for _, f := range files {
				if _, ok := want[strings.TrimPrefix(f.Name, "./")]; ok {
					names = append(names, f.Name)
				}
			}
			return fmt.Errorf("%s not in archive", strings.Join(names, ", "))
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", archive, err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		f, ok := want[name]
		if !ok {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s in archive is not a regular file", f.Name)
		}
		if err := WriteAtomic(f.Dest, tr, f.SHA256, f.Mode); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		delete(want, name)
	}
	return nil
}

// WriteAtomic copies r to a temporary file next to dest, checks its sha256
// when wantSHA is set, sets mode (0 means 0o644) and renames it to dest.
// On any failure dest is left as it was.
func WriteAtomic(dest string, r io.Reader, wantSHA string, mode fs.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), filepath.Base(dest)+".tmp*")
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && wantSHA != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(wantSHA) {
			err = fmt.Errorf("%w: got %s, want %s", ErrHashMismatch, got, wantSHA)
		}
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
