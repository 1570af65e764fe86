package onnx

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/hub"

	"github.com/cliprag/cliprag/embed/progress"
)

// fakeLib is a stand-in for the shared library in download tests (which
// test fetching, extraction and hashing, not loading).
var fakeLib = bytes.Repeat([]byte("\x7fELF fake onnxruntime "), 5000)

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func integrityOf(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

// makeTgz builds a gzipped tar holding members, with padding files around
// them so that extraction has to skip entries.
func makeTgz(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("package/package.json", []byte(`{"name":"onnxruntime-node"}`))
	for name, data := range members {
		add(name, data)
	}
	add("package/bin/napi-v6/zzz/other.node", []byte("padding"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeZip(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ortServer serves a release archive and/or an npm package.
type ortServer struct {
	mu    sync.Mutex
	paths map[string][]byte
	hits  map[string]int
	srv   *httptest.Server
}

func newORTServer(t *testing.T) *ortServer {
	t.Helper()
	s := &ortServer{paths: map[string][]byte{}, hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		b, ok := s.paths[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *ortServer) set(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths[path] = b
}

func (s *ortServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

// serveNPM publishes a tarball and its metadata under /npm, pinning them.
func (s *ortServer) serveNPM(t *testing.T, tgz []byte, plat string, lib []byte) {
	t.Helper()
	tarPath := "/npm/onnxruntime-node/-/onnxruntime-node-" + Version + ".tgz"
	s.set(tarPath, tgz)
	meta, _ := json.Marshal(map[string]any{"name": "onnxruntime-node", "version": Version,
		"dist": map[string]string{"tarball": s.srv.URL + tarPath, "integrity": integrityOf(tgz)}})
	s.set("/npm/onnxruntime-node/"+Version, meta)
	pin(t, integrityOf(tgz), map[string]string{plat: hexSHA256(lib)})
}

// pin replaces the npm pins for one test.
func pin(t *testing.T, integrity string, libs map[string]string) {
	t.Helper()
	oldI, oldL := npmIntegrity, npmLibSHA256
	npmIntegrity, npmLibSHA256 = integrity, libs
	t.Cleanup(func() { npmIntegrity, npmLibSHA256 = oldI, oldL })
}

// noSystem is a search that finds nothing on the system.
func noSystem(goos, goarch string) search {
	return search{goos: goos, goarch: goarch, systemDirs: func() []string { return nil }, ldconfig: func() []string { return nil }}
}

// loader records the paths tried and accepts those whose content is want.
type loader struct {
	tried []string
	want  []byte
}

func (l *loader) try(p string) error {
	l.tried = append(l.tried, p)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, l.want) {
		return errors.New("not a library")
	}
	return nil
}

func TestLocateOrder(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "a", "libonnxruntime.so.1")
	good := filepath.Join(dir, "b", "libonnxruntime.so")
	for p, b := range map[string][]byte{bad: []byte("old"), good: fakeLib} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	s := search{goos: "linux", goarch: "amd64",
		systemDirs: func() []string { return []string{filepath.Join(dir, "none"), filepath.Dir(bad), filepath.Dir(good)} },
		ldconfig:   func() []string { return []string{bad} }}
	l := &loader{want: fakeLib}
	got, err := locate(context.Background(), LibraryOptions{CacheDir: t.TempDir(), Offline: true}, s, l.try)
	if err != nil {
		t.Fatal(err)
	}
	if got != good {
		t.Errorf("located %q, want %q", got, good)
	}
	if len(l.tried) != 2 || l.tried[0] != bad {
		t.Errorf("tried %v, want [%s %s] (ldconfig first, duplicates skipped)", l.tried, bad, good)
	}

	t.Run("explicit path wins and its failure is final", func(t *testing.T) {
		l := &loader{want: fakeLib}
		_, err := locate(context.Background(), LibraryOptions{Path: bad, Offline: true}, s, l.try)
		if err == nil || !strings.Contains(err.Error(), "LibraryOptions.Path") || len(l.tried) != 1 {
			t.Errorf("err = %v, tried %v; want a LibraryOptions.Path error after one try", err, l.tried)
		}
	})
	t.Run("explicit path skips the search", func(t *testing.T) {
		l := &loader{want: fakeLib}
		got, err := locate(context.Background(), LibraryOptions{Path: good, Offline: true}, s, l.try)
		if err != nil || got != good || len(l.tried) != 1 {
			t.Errorf("got %q, %v, tried %v", got, err, l.tried)
		}
		missing := filepath.Join(dir, "missing.so")
		_, err = locate(context.Background(), LibraryOptions{Path: missing, Offline: true}, s, l.try)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("missing library: err = %v, want it to name %s", err, missing)
		}
	})
}

func TestLocateEverythingFails(t *testing.T) {
	srv := newORTServer(t) // serves nothing: every download is a 404
	cache := t.TempDir()
	tests := []struct {
		name   string
		opts   LibraryOptions
		extras []string
	}{
		{"offline", LibraryOptions{CacheDir: cache, Offline: true},
			[]string{"offline", "https://github.com/microsoft/onnxruntime/releases/download/v1.24.3/onnxruntime-linux-x64-1.24.3.tgz"}},
		{"both sources 404", LibraryOptions{CacheDir: cache, ReleaseURL: srv.srv.URL + "/rel", NPMRegistry: srv.srv.URL + "/npm"},
			[]string{"official release: ", "npm: ", "404", srv.srv.URL + "/rel/v1.24.3/onnxruntime-linux-x64-1.24.3.tgz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prog bytes.Buffer
			tc.opts.Progress = progress.Writer(&prog)
			l := &loader{want: fakeLib}
			_, err := locate(context.Background(), tc.opts, noSystem("linux", "amd64"), l.try)
			if !errors.Is(err, ErrLibraryNotFound) {
				t.Fatalf("err = %v, want ErrLibraryNotFound", err)
			}
			msg := err.Error()
			wantDir := filepath.Join(cache, "onnxruntime", Version, "linux-x64")
			for _, want := range append([]string{EnvLibrary, filepath.Join(wantDir, "libonnxruntime.so.1"),
				"npm pack onnxruntime-node@1.24.3", "package/bin/napi-v6/linux/x64/libonnxruntime.so.1"}, tc.extras...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if len(l.tried) != 0 {
				t.Errorf("tried to load %v", l.tried)
			}
			entries, _ := os.ReadDir(wantDir)
			for _, e := range entries {
				t.Errorf("cache holds %s after a failure", e.Name())
			}
		})
	}
}

func TestFetchNPM(t *testing.T) {
	tests := []struct {
		goos, goarch string
		member       string
		cached       string
	}{
		{"linux", "amd64", "package/bin/napi-v6/linux/x64/libonnxruntime.so.1", "libonnxruntime.so.1"},
		{"linux", "arm64", "package/bin/napi-v6/linux/arm64/libonnxruntime.so.1", "libonnxruntime.so.1"},
		{"darwin", "arm64", "package/bin/napi-v6/darwin/arm64/libonnxruntime.1.24.3.dylib", "libonnxruntime.dylib"},
		{"windows", "amd64", "package/bin/napi-v6/win32/x64/onnxruntime.dll", "onnxruntime.dll"},
	}
	for _, tc := range tests {
		t.Run(tc.goos+"-"+tc.goarch, func(t *testing.T) {
			srv := newORTServer(t)
			other := []byte("the library of another platform")
			tgz := makeTgz(t, map[string][]byte{tc.member: fakeLib, "package/bin/napi-v6/linux/zz/libonnxruntime.so.1": other})
			srv.serveNPM(t, tgz, platformDir(tc.goos, tc.goarch), fakeLib)
			cache := t.TempDir()
			var prog bytes.Buffer
			opts := LibraryOptions{CacheDir: cache, Progress: progress.Writer(&prog), ReleaseURL: srv.srv.URL + "/rel", NPMRegistry: srv.srv.URL + "/npm"}
			l := &loader{want: fakeLib}
			got, err := locate(context.Background(), opts, noSystem(tc.goos, tc.goarch), l.try)
			if err != nil {
				t.Fatalf("%v\nprogress:\n%s", err, prog.String())
			}
			want := filepath.Join(cache, "onnxruntime", Version, platformDir(tc.goos, tc.goarch), tc.cached)
			if got != want {
				t.Errorf("library at %q, want %q", got, want)
			}
			if sum, _, ok := hub.ReadSidecar(got); !ok || sum != hexSHA256(fakeLib) {
				t.Errorf("sidecar %q ok=%v, want %s", sum, ok, hexSHA256(fakeLib))
			}
			entries, _ := os.ReadDir(filepath.Dir(got))
			if len(entries) != 2 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("cache dir holds %v, want only the library and its sidecar", names)
			}
			for _, w := range []string{"official release failed", "done onnxruntime-node@" + Version, "installed " + got} {
				if !strings.Contains(prog.String(), w) {
					t.Errorf("progress lacks %q:\n%s", w, prog.String())
				}
			}

			// Later loads use the cache, offline or not, without the network.
			hits := srv.total()
			for _, offline := range []bool{true, false} {
				o := opts
				o.Offline = offline
				if p, err := locate(context.Background(), o, noSystem(tc.goos, tc.goarch), l.try); err != nil || p != want {
					t.Errorf("cached (offline=%v): %q, %v", offline, p, err)
				}
			}
			if srv.total() != hits {
				t.Error("a cached library was downloaded again")
			}

			// A corrupted cache is refused offline and replaced online.
			if err := os.WriteFile(got, other, 0o755); err != nil {
				t.Fatal(err)
			}
			o := opts
			o.Offline = true
			if _, err := locate(context.Background(), o, noSystem(tc.goos, tc.goarch), l.try); err == nil || !strings.Contains(err.Error(), "does not match the recorded") {
				t.Errorf("corrupted cache offline: err = %v, want a sha256 complaint", err)
			}
			if p, err := locate(context.Background(), opts, noSystem(tc.goos, tc.goarch), l.try); err != nil || p != want {
				t.Errorf("corrupted cache online: %q, %v", p, err)
			}
			if b, _ := os.ReadFile(want); !bytes.Equal(b, fakeLib) {
				t.Error("corrupted library not replaced")
			}
		})
	}
}

func TestFetchNPMMirrorAndNoMetadata(t *testing.T) {
	srv := newORTServer(t)
	tgz := makeTgz(t, map[string][]byte{"package/bin/napi-v6/linux/x64/libonnxruntime.so.1": fakeLib})
	pin(t, integrityOf(tgz), map[string]string{"linux-x64": hexSHA256(fakeLib)})
	// Only the tarball, at the conventional path; no metadata document.
	srv.set("/mirror/onnxruntime-node/-/onnxruntime-node-"+Version+".tgz", tgz)
	l := &loader{want: fakeLib}
	opts := LibraryOptions{CacheDir: t.TempDir(), NPMRegistry: srv.srv.URL + "/mirror/", ReleaseURL: srv.srv.URL + "/none"}
	if _, err := locate(context.Background(), opts, noSystem("linux", "amd64"), l.try); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.hits["/none/v"+Version+"/onnxruntime-linux-x64-"+Version+".tgz"] != 1 {
		t.Errorf("release URL from ReleaseURL not tried: hits %v", srv.hits)
	}
}

func TestFetchNPMBadIntegrity(t *testing.T) {
	tests := []struct {
		name string
		pins func(tgz []byte) (string, map[string]string)
		want string
	}{
		{"tarball integrity", func(tgz []byte) (string, map[string]string) {
			return integrityOf([]byte("another tarball")), map[string]string{"linux-x64": hexSHA256(fakeLib)}
		}, "integrity"},
		{"library sha256", func(tgz []byte) (string, map[string]string) {
			return integrityOf(tgz), map[string]string{"linux-x64": hexSHA256([]byte("another library"))}
		}, "sha256 mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newORTServer(t)
			tgz := makeTgz(t, map[string][]byte{"package/bin/napi-v6/linux/x64/libonnxruntime.so.1": fakeLib})
			tarPath := "/npm/onnxruntime-node/-/onnxruntime-node-" + Version + ".tgz"
			srv.set(tarPath, tgz)
			integrity, libs := tc.pins(tgz)
			pin(t, integrity, libs)
			cache := t.TempDir()
			l := &loader{want: fakeLib}
			_, err := locate(context.Background(), LibraryOptions{CacheDir: cache, ReleaseURL: srv.srv.URL + "/rel", NPMRegistry: srv.srv.URL + "/npm"}, noSystem("linux", "amd64"), l.try)
			if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrLibraryNotFound mentioning %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(cache, "onnxruntime", Version, "linux-x64", "libonnxruntime.so.1")); err == nil {
				t.Error("an unverified library was installed")
			}
		})
	}
}

func TestFetchRelease(t *testing.T) {
	tests := []struct {
		goos, goarch string
		path, member string
		zip          bool
	}{
		{"linux", "amd64", "/v1.24.3/onnxruntime-linux-x64-1.24.3.tgz", "onnxruntime-linux-x64-1.24.3/lib/libonnxruntime.so.1.24.3", false},
		{"darwin", "arm64", "/v1.24.3/onnxruntime-osx-arm64-1.24.3.tgz", "onnxruntime-osx-arm64-1.24.3/lib/libonnxruntime.1.24.3.dylib", false},
		{"windows", "amd64", "/v1.24.3/onnxruntime-win-x64-1.24.3.zip", "onnxruntime-win-x64-1.24.3/lib/onnxruntime.dll", true},
	}
	for _, tc := range tests {
		t.Run(tc.goos+"-"+tc.goarch, func(t *testing.T) {
			srv := newORTServer(t)
			members := map[string][]byte{tc.member: fakeLib, "onnxruntime-x/include/onnxruntime_c_api.h": []byte("// header")}
			if tc.zip {
				srv.set("/rel"+tc.path, makeZip(t, members))
			} else {
				srv.set("/rel"+tc.path, makeTgz(t, members))
			}
			cache := t.TempDir()
			var prog bytes.Buffer
			l := &loader{want: fakeLib}
			got, err := locate(context.Background(), LibraryOptions{CacheDir: cache, Progress: progress.Writer(&prog), ReleaseURL: srv.srv.URL + "/rel/", NPMRegistry: srv.srv.URL + "/npm"}, noSystem(tc.goos, tc.goarch), l.try)
			if err != nil {
				t.Fatalf("%v\n%s", err, prog.String())
			}
			if b, _ := os.ReadFile(got); !bytes.Equal(b, fakeLib) {
				t.Error("extracted library differs")
			}
			if sum, _, ok := hub.ReadSidecar(got); !ok || sum != hexSHA256(fakeLib) {
				t.Errorf("sidecar %q ok=%v", sum, ok)
			}
			srv.mu.Lock()
			npmHits := srv.hits["/npm/onnxruntime-node/"+Version]
			srv.mu.Unlock()
			if npmHits != 0 {
				t.Error("npm was asked although the release worked")
			}
		})
	}
}

// TestFetchRealNPMTarball serves the real onnxruntime-node tarball (a
// developer download, 86 MB) when it is present and checks it against the
// pinned integrity and library hashes.
func TestFetchRealNPMTarball(t *testing.T) {
	const real = "/tmp/npmdl/onnxruntime-node-1.24.3.tgz"
	if testing.Short() {
		t.Skip("-short")
	}
	tgz, err := os.ReadFile(real)
	if err != nil {
		t.Skipf("dev-only test: %s not present", real)
	}
	srv := newORTServer(t)
	srv.set("/npm/onnxruntime-node/-/onnxruntime-node-"+Version+".tgz", tgz)
	cache := t.TempDir()
	var got string
	try := func(p string) error { got = p; return nil }
	if _, err := locate(context.Background(), LibraryOptions{CacheDir: cache, ReleaseURL: srv.srv.URL + "/rel", NPMRegistry: srv.srv.URL + "/npm"}, noSystem("linux", "amd64"), try); err != nil {
		t.Fatal(err)
	}
	sum, err := hub.FileSHA256(got)
	if err != nil || sum != npmLibSHA256["linux-x64"] {
		t.Fatalf("library sha256 %s (%v), want %s", sum, err, npmLibSHA256["linux-x64"])
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return
	}
	// Load the extracted library and run a model, in a fresh process (Init
	// happens once per process).
	cmd := exec.Command(os.Args[0], "-test.run=^(TestSessionInfo|TestRunMatmul)$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), EnvLibrary+"="+got, "CI=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRunMatmul") {
		t.Fatalf("model run with the fetched library: %v\n%s", err, out)
	}
}

func TestLibraryNames(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		names := libNames(goos)
		found := false
		for _, n := range names {
			if n == cachedLibName(goos) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: cached name %s not among system names %v", goos, cachedLibName(goos), names)
		}
	}
	if u, _ := releaseArchive("x", "plan9", "386"); u != "" {
		t.Errorf("plan9 release archive %q, want none", u)
	}
	if p := npmLibPath("freebsd", "amd64"); p != "" {
		t.Errorf("freebsd npm path %q, want none", p)
	}

}
