package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
)

const (
	testRepo = "cliprag/tiny-test"
	testRev  = "0123456789abcdef0123456789abcdef01234567"
)

// fakeHub is an httptest Hugging Face: it serves files under
// /{repo}/resolve/{rev}/{path}, answers Range requests, and can redirect LFS
// files to a /cdn/ path the way the Hub does.
type fakeHub struct {
	t     *testing.T
	files map[string][]byte
	token string // required bearer token; "" for a public repo
	lfs   bool   // redirect to /cdn/ with X-Linked-Etag
	// cutOnce makes the first full GET of each file stop halfway.
	cutOnce bool
	// noRange makes the server ignore Range headers.
	noRange bool
	// corrupt serves this instead of the real bytes (with the real ETag).
	corrupt map[string][]byte
	stall   bool

	mu     sync.Mutex
	gets   map[string]int    // requests per file path
	ranges map[string]string // last Range header per file path
	cut    map[string]bool
	auth   []string
}

func TestMain(m *testing.M) {
	defaultBackoff = 10 * time.Millisecond
	os.Exit(m.Run())
}

func newFakeHub(t *testing.T, files map[string][]byte) (*fakeHub, *httptest.Server) {
	t.Helper()
	h := &fakeHub{t: t, files: files, gets: map[string]int{}, ranges: map[string]string{}, cut: map[string]bool{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *fakeHub) count(p string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets[p]
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/" + testRepo + "/resolve/" + testRev + "/"
	cdn := strings.HasPrefix(r.URL.Path, "/cdn/")
	var p string
	switch {
	case cdn:
		p = strings.TrimPrefix(r.URL.Path, "/cdn/")
	case strings.HasPrefix(r.URL.Path, prefix):
		p = strings.TrimPrefix(r.URL.Path, prefix)
	default:
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	if !cdn && h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "Invalid credentials", http.StatusUnauthorized)
		return
	}
	data, ok := h.files[p]
	if !ok {
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	etag := `"` + sum256(data) + `"`
	if !cdn && h.lfs {
		w.Header().Set("X-Linked-Etag", etag)
		http.Redirect(w, r, "/cdn/"+p, http.StatusFound)
		return
	}
	h.mu.Lock()
	h.gets[p]++
	h.ranges[p] = r.Header.Get("Range")
	firstCut := h.cutOnce && !h.cut[p]
	h.cut[p] = true
	h.mu.Unlock()
	if c, ok := h.corrupt[p]; ok {
		data = c
	}
	if !h.lfs {
		w.Header().Set("ETag", etag)
	}
	if h.stall {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:1])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	if rg := r.Header.Get("Range"); rg != "" && !h.noRange {
		var start int
		if _, err := fmt.Sscanf(rg, "bytes=%d-", &start); err != nil || start > len(data) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		if start == len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[start:])
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if firstCut {
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-file
	}
	w.Write(data)
}

// modelFiles is a small model-like repository: JSON configs and a binary
// "weights" file big enough to be cut in the middle.
func modelFiles() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	weights := make([]byte, 300_000)
	for i := range weights {
		weights[i] = byte(rng.UintN(256))
	}
	return map[string][]byte{
		"config.json":              []byte(`{"projection_dim": 64}`),
		"tokenizer.json":           []byte(`{"model": {"type": "BPE"}}`),
		"onnx/vision_model.onnx":   weights,
		"onnx/text_model.onnx":     weights[:123_457],
		"preprocessor_config.json": []byte(`{"crop_size": 224}`),
	}
}

func fileList(files map[string][]byte, withSHA bool) []File {
	var out []File
	for p, b := range files {
		f := File{Path: p}
		if withSHA {
			f.SHA256 = sum256(b)
			f.Size = int64(len(b))
		}
		out = append(out, f)
	}
	return out
}

func checkDir(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs (%d bytes, want %d)", p, len(got), len(want))
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)) + ".part"); err == nil {
			t.Errorf("%s.part left behind", p)
		}
		if s, _, ok := ReadSidecar(filepath.Join(dir, filepath.FromSlash(p))); !ok || s != sum256(want) {
			t.Errorf("%s: sidecar %q ok=%v, want %s", p, s, ok, sum256(want))
		}
	}
}

func TestDownload(t *testing.T) {
	tests := []struct {
		name    string
		withSHA bool
		lfs     bool
		cut     bool
		noRange bool
	}{
		{"plain with pinned sha", true, false, false, false},
		{"etag sha only", false, false, false, false},
		{"lfs redirect", false, true, false, false},
		{"cut mid-file then resume", true, false, true, false},
		{"cut on lfs redirect", false, true, true, false},
		{"cut, server ignores Range", true, false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := modelFiles()
			h, srv := newFakeHub(t, files)
			h.lfs, h.cutOnce, h.noRange = tc.lfs, tc.cut, tc.noRange
			dest := filepath.Join(t.TempDir(), "model")
			var prog bytes.Buffer
			req := Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: fileList(files, tc.withSHA), Dest: dest, Progress: progress.Writer(&prog)}
			dir, err := Download(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if dir != dest {
				t.Errorf("dir = %q, want %q", dir, dest)
			}
			checkDir(t, dir, files)
			p := "onnx/vision_model.onnx"
			if tc.cut {
				if n := h.count(p); n != 2 {
					t.Errorf("%s fetched %d times, want 2 (cut + resume)", p, n)
				}
				h.mu.Lock()
				rg := h.ranges[p]
				h.mu.Unlock()
				if want := fmt.Sprintf("bytes=%d-", len(files[p])/2); rg != want {
					t.Errorf("resume Range = %q, want %q", rg, want)
				}
			}
			if !strings.Contains(prog.String(), "done "+testRepo+"/"+p) {
				t.Errorf("progress output lacks a done line for %s:\n%s", p, prog.String())
			}

			// A second call finds everything and makes no request.
			before := h.count(p)
			if _, err := Download(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if h.count(p) != before {
				t.Error("second Download fetched again")
			}
		})
	}
}

func TestDownloadToken(t *testing.T) {
	files := map[string][]byte{"config.json": []byte(`{"a": 1}`)}
	h, srv := newFakeHub(t, files)
	h.token = "hf_secret"
	dest := t.TempDir()
	req := Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: fileList(files, false), Dest: dest}
	_, err := Download(context.Background(), req)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: err = %v, want a 401 HTTPError", err)
	}
	for _, want := range []string{"HF_TOKEN", srv.URL + "/" + testRepo + "/resolve/" + testRev + "/config.json", dest} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := h.count("config.json"); n != 0 {
		t.Errorf("401 was retried: %d file requests", n)
	}

	t.Run("token field", func(t *testing.T) {
		r := req
		r.Token = "hf_secret"
		if _, err := Download(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		checkDir(t, dest, files)
	})
	// HF_TOKEN reaches Token through the commands' configuration
	// (tools/config TestEnvReachesDownloads).
}

func TestDownloadHashMismatch(t *testing.T) {
	files := modelFiles()
	tests := []struct {
		name  string
		setup func(h *fakeHub) []File
	}{
		{"pinned sha wrong", func(h *fakeHub) []File {
			return []File{{Path: "config.json", SHA256: strings.Repeat("ab", 32)}}
		}},
		{"server bytes differ from etag", func(h *fakeHub) []File {
			h.corrupt = map[string][]byte{"config.json": []byte(`{"tampered": true}`)}
			return []File{{Path: "config.json"}}
		}},
		{"lfs linked etag differs", func(h *fakeHub) []File {
			h.lfs = true
			h.corrupt = map[string][]byte{"onnx/text_model.onnx": []byte("truncated")}
			return []File{{Path: "onnx/text_model.onnx"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newFakeHub(t, files)
			fl := tc.setup(h)
			dest := t.TempDir()
			_, err := Download(context.Background(), Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: fl, Dest: dest})
			if !errors.Is(err, ErrHashMismatch) {
				t.Fatalf("err = %v, want ErrHashMismatch", err)
			}
			p := filepath.Join(dest, filepath.FromSlash(fl[0].Path))
			for _, f := range []string{p, p + ".part", p + ".sha256"} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s exists after a hash mismatch", f)
				}
			}
		})
	}
}

// TestDownloadDefaults leaves Dest empty: the files go into ModelDir of the
// default cache, which the test points at a temporary folder.
func TestDownloadDefaults(t *testing.T) {
	files := map[string][]byte{"config.json": []byte(`{"x": 2}`)}
	h, srv := newFakeHub(t, files)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux
	if runtime.GOOS != "linux" {
		t.Skip("the default cache is redirected with XDG_CACHE_HOME only on Linux")
	}
	dir, err := Download(context.Background(), Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: fileList(files, false)})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, "cliprag", "models", "cliprag--tiny-test", testRev)
	if dir != want {
		t.Errorf("dir = %q, want %q", dir, want)
	}
	checkDir(t, dir, files)
	if h.count("config.json") != 1 {
		t.Errorf("server saw %d requests, want 1", h.count("config.json"))
	}
}

func TestDownloadOffline(t *testing.T) {
	files := modelFiles()
	dest := filepath.Join(t.TempDir(), "m")
	endpoint := "http://127.0.0.1:1" // never contacted
	req := Request{Endpoint: endpoint, Repo: testRepo, Revision: testRev, Files: fileList(files, true), Dest: dest, Offline: true}
	_, err := Download(context.Background(), req)
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	msg := err.Error()
	for _, want := range []string{endpoint + "/" + testRepo + "/resolve/" + testRev + "/", dest, "onnx/vision_model.onnx"} {
		if !strings.Contains(msg, want) {
			t.Errorf("offline error lacks %q:\n%s", want, msg)
		}
	}
	// Commands render the structured error (files, folder, URL) themselves;
	// the URL appears once and never with a placeholder.
	var me *MissingError
	if !errors.As(err, &me) || me.Dir != dest || len(me.Files) != len(files) || me.URL != endpoint+"/"+testRepo+"/resolve/"+testRev+"/" {
		t.Errorf("offline error %#v: want a *MissingError naming %d files, %s and the URL", me, len(files), dest)
	}
	if strings.Count(msg, endpoint) != 1 || strings.Contains(msg, "%3C") {
		t.Errorf("offline error names the endpoint %d times (want once) or has an escaped placeholder:\n%s", strings.Count(msg, endpoint), msg)
	}

	// Files put there by hand are used offline; a wrong one is not.
	for p, b := range files {
		fp := filepath.Join(dest, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dir, err := Download(context.Background(), req); err != nil || dir != dest {
		t.Fatalf("offline with files by hand: %q, %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dest, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Download(context.Background(), req)
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("offline with a wrong file: err = %v, want ErrOffline naming config.json", err)
	}
}

func TestDownloadUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close() // connection refused from now on
	dest := t.TempDir()
	_, err := Download(context.Background(), Request{Endpoint: endpoint, Repo: testRepo, Revision: testRev, Files: []File{{Path: "config.json"}}, Dest: dest})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{endpoint + "/" + testRepo + "/resolve/" + testRev + "/config.json", dest} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var me *MissingError
	if !errors.As(err, &me) || me.Dir != dest || len(me.Files) != 1 || errors.Is(err, ErrOffline) {
		t.Errorf("unreachable: %#v, want a *MissingError for config.json in %s, not ErrOffline", me, dest)
	}
}

func TestDownloadCancel(t *testing.T) {
	files := modelFiles()
	h, srv := newFakeHub(t, files)
	h.stall = true
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Download(ctx, Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: []File{{Path: "onnx/vision_model.onnx"}}, Dest: t.TempDir()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestDownloadBadRequest(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"no repo", Request{Files: []File{{Path: "a"}}}, "bad repository"},
		{"bad repo", Request{Repo: "a/b/c", Files: []File{{Path: "a"}}}, "bad repository"},
		{"no files", Request{Repo: "a/b", Dest: "x"}, "no files"},
		{"escaping path", Request{Repo: "a/b", Dest: "x", Files: []File{{Path: "../etc/passwd"}}}, "bad file path"},
		{"absolute path", Request{Repo: "a/b", Dest: "x", Files: []File{{Path: "/etc/passwd"}}}, "bad file path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Download(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFileURL(t *testing.T) {
	tests := []struct{ endpoint, repo, rev, path, want string }{
		{"", "Xenova/clip-vit-base-patch32", "", "onnx/vision_model.onnx", "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx"},
		{"https://hf-mirror.com/", "a/b", "abc", "dir/file name.json", "https://hf-mirror.com/a/b/resolve/abc/dir/file%20name.json"},
	}
	for _, tc := range tests {
		if got := FileURL(tc.endpoint, tc.repo, tc.rev, tc.path); got != tc.want {
			t.Errorf("FileURL = %q, want %q", got, tc.want)
		}
	}
}

// TestDownloadTinyModel serves the bundled tiny-shapes model (the real files
// of a model in the Transformers.js layout) as an LFS repository whose first
// transfer of each file is cut, and checks the copy.
func TestDownloadTinyModel(t *testing.T) {
	root := filepath.Join("..", "tinyshapes", "model")
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("tiny model at %s: %v (%d files)", root, err, len(files))
	}
	h, srv := newFakeHub(t, files)
	h.lfs, h.cutOnce = true, true
	dest := ModelDir(t.TempDir(), testRepo, testRev)
	dir, err := Download(context.Background(), Request{Endpoint: srv.URL, Repo: testRepo, Revision: testRev, Files: fileList(files, false), Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	checkDir(t, dir, files)
	if n := h.count("onnx/vision_model.onnx"); n != 2 {
		t.Errorf("vision model fetched %d times, want 2 (cut + resume)", n)
	}
}
