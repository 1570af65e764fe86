package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pathService is a Service with roots only, for the checks that read no
// model: path safety, data URIs and URL fetching.
func pathService(t *testing.T, roots ...string) *Service {
	t.Helper()
	s := &Service{opts: Options{Roots: roots, MaxDataURIBytes: 1000, MaxURLBytes: 1000, URLTimeout: DefaultURLTimeout, MaxRedirects: 3, Timeout: DefaultTimeout}, checkAddr: publicAddr}
	if err := s.setRoots(roots); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadFile: files are read only inside the roots, through them:
// "..", absolute paths and symbolic links that lead out are refused, and
// so is anything that is not a regular file, without blocking.
func TestReadFile(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(root, "a.png"), []byte("a"))
	writeFile(t, filepath.Join(root, "sub", "b.png"), []byte("b"))
	writeFile(t, filepath.Join(root, " spaced .png"), []byte("spaced"))
	writeFile(t, filepath.Join(outside, "secret.png"), []byte("secret"))
	for link, target := range map[string]string{
		"escape.png":    filepath.Join(outside, "secret.png"),
		"escaperel.png": filepath.Join("..", "outside", "secret.png"),
		"escapedir":     outside,
		"inner.png":     filepath.Join(root, "sub", "b.png"), // absolute, inside
		"innerrel.png":  filepath.Join("sub", "b.png"),
		"loop.png":      "loop.png",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A root reached through a symlink resolves to the same place.
	if err := os.Symlink(root, filepath.Join(base, "rootlink")); err != nil {
		t.Fatal(err)
	}
	s := pathService(t, filepath.Join(base, "rootlink"))
	tests := []struct {
		name, in, want string // want "" means refused
		why            string // in the refusal
	}{
		{"absolute inside", filepath.Join(root, "a.png"), "a", ""},
		{"relative", "sub/b.png", "b", ""},
		{"through root symlink", filepath.Join(base, "rootlink", "a.png"), "a", ""},
		{"dotdot staying inside", filepath.Join(root, "sub", "..", "a.png"), "a", ""},
		{"symlink inside", filepath.Join(root, "inner.png"), "b", ""},
		{"relative symlink inside", filepath.Join(root, "innerrel.png"), "b", ""},
		{"spaces kept", " spaced .png", "spaced", ""},
		{"dotdot escape", filepath.Join(root, "..", "outside", "secret.png"), "", "outside the allowed roots"},
		{"relative dotdot escape", "../outside/secret.png", "", "outside the allowed roots"},
		{"absolute outside", filepath.Join(outside, "secret.png"), "", "outside the allowed roots"},
		{"etc passwd", "/etc/passwd", "", "outside the allowed roots"},
		{"symlink escape", filepath.Join(root, "escape.png"), "", "symbolic link"},
		{"relative symlink escape", filepath.Join(root, "escaperel.png"), "", "symbolic link"},
		{"symlinked dir escape", filepath.Join(root, "escapedir", "secret.png"), "", "symbolic link"},
		{"missing", filepath.Join(root, "nope.png"), "", "does not exist"},
		{"missing outside", filepath.Join(outside, "nope.png"), "", "outside the allowed roots"},
		{"fifo", filepath.Join(root, "fifo.png"), "", "FIFO"},
		{"folder", filepath.Join(root, "sub"), "", "folder"},
		{"symlink loop", filepath.Join(root, "loop.png"), "", "loop.png"},
		{"empty", "", "", "empty"},
		{"nul", "a.png\x00", "", "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, _, err := s.readFile(ctx, tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("readFile(%q) = %q, want refusal", tc.in, got)
				}
				if !IsInputError(err) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("error %v: want an *InputError saying %q", err, tc.why)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("readFile(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestReadFileNoOracle: a path outside the roots gets the same answer
// whether it exists or not, and the answer comes from its name alone.
func TestReadFileNoOracle(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "root")
	writeFile(t, filepath.Join(root, "a.png"), []byte("a"))
	writeFile(t, filepath.Join(base, "exists.png"), []byte("x"))
	s := pathService(t, root)
	msg := func(p string) string {
		_, _, err := s.readFile(context.Background(), p)
		if err == nil {
			t.Fatalf("%s was read", p)
		}
		return strings.ReplaceAll(err.Error(), p, "P")
	}
	for _, pair := range [][2]string{
		{filepath.Join(base, "exists.png"), filepath.Join(base, "missing.png")},
		{"../exists.png", "../missing.png"},
	} {
		if a, b := msg(pair[0]), msg(pair[1]); a != b {
			t.Errorf("existing and missing files outside the roots answer differently:\n%s\n%s", a, b)
		}
	}
}

// TestReadFileSymlinkSwap: another process swaps what a path names while
// calls read it, many times: a link inside the root between a file inside
// and one outside, and a folder inside the root with a link to a folder
// outside (exchanged atomically, so the path always exists). Nothing
// outside is ever read. (Checking the resolved path and then opening it,
// as before, read the outside file in 367 of 1228 tries.)
func TestReadFileSymlinkSwap(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	writeFile(t, filepath.Join(root, "in.png"), []byte("inside"))
	writeFile(t, filepath.Join(root, "sub", "x.png"), []byte("inside"))
	writeFile(t, filepath.Join(outside, "secret.png"), []byte("secret"))
	writeFile(t, filepath.Join(outside, "x.png"), []byte("secret"))
	if err := os.Symlink(outside, filepath.Join(root, "other")); err != nil {
		t.Fatal(err)
	}
	s := pathService(t, root)
	link := filepath.Join(root, "swap.png")
	targets := []string{"in.png", filepath.Join(outside, "secret.png"), filepath.Join(root, "in.png"), "../outside/secret.png"}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tmp := link + ".tmp"
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.Remove(tmp)
			if err := os.Symlink(targets[i%len(targets)], tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, link); err != nil {
				t.Error(err)
				return
			}
			// sub (a folder) and other (a link out) trade places.
			if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, "sub"), unix.AT_FDCWD, filepath.Join(root, "other"), unix.RENAME_EXCHANGE); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	inside := 0
	for i := range 4000 {
		p := link
		if i%2 == 1 {
			p = filepath.Join(root, "sub", "x.png")
		}
		data, _, err := s.readFile(context.Background(), p)
		if err == nil && string(data) != "inside" {
			close(stop)
			<-done
			t.Fatalf("read %q from outside the root through %s", data, p)
		}
		if err == nil {
			inside++
		}
	}
	close(stop)
	<-done
	if inside == 0 {
		t.Fatal("never read a path while it pointed inside: the test did not race")
	}
	t.Logf("4000 reads racing link swaps: %d inside, none outside", inside)
}

func TestReadFileNoRoots(t *testing.T) {
	s := pathService(t)
	s.store = emptyStore{}
	_, _, err := s.readFile(context.Background(), "/etc/passwd")
	if err == nil || !strings.Contains(err.Error(), "no folders") {
		t.Fatalf("err = %v, want no-folders refusal", err)
	}
}

func TestMinimalRoots(t *testing.T) {
	var in []root
	for _, d := range []string{"/a/b", "/a", "/ab", "/c/d", "/c/d/e"} {
		in = append(in, root{lex: d})
	}
	var got []string
	for _, r := range minimalRoots(in) {
		got = append(got, r.lex)
	}
	want := []string{"/a", "/ab", "/c/d"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("minimalRoots = %v, want %v", got, want)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeDataURI(t *testing.T) {
	s := pathService(t)
	s.opts.MaxDataURIBytes = 600
	small := []byte(strings.Repeat("a", 500))
	big := []byte(strings.Repeat("a", 700))
	enc := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, uri string
		ok        bool
	}{
		{"png", "data:image/png;base64," + enc(small), true},
		{"no media type", "data:;base64," + enc(small), true},
		{"unpadded", "data:image/png;base64," + strings.TrimRight(enc(small[:499]), "="), true},
		{"too big", "data:image/png;base64," + enc(big), false},
		{"not base64", "data:image/png," + string(small), false},
		{"text", "data:text/plain;base64," + enc(small), false},
		{"bad base64", "data:image/png;base64,@@@@", false},
		{"not data", "image/png;base64," + enc(small), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.decodeDataURI(tc.uri)
			if tc.ok != (err == nil) {
				t.Fatalf("decodeDataURI: err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !IsInputError(err) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			if tc.ok && !bytes.HasPrefix(small, got) {
				t.Fatalf("decoded %d bytes differ from the input", len(got))
			}
		})
	}
}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
		why    string // in the refusal
	}{
		{"8.8.8.8", true, ""},
		{"1.1.1.1", true, ""},
		{"93.184.216.34", true, ""},
		{"2606:4700::1111", true, ""},
		{"64:ff9b::808:808", true, ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true, ""},  // 6to4 of 8.8.8.8
		{"::ffff:8.8.8.8", true, ""},   // IPv4-mapped public
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback"},
		{"::1", false, "loopback"},
		{"10.1.2.3", false, "private"},
		{"172.16.0.1", false, "private"},
		{"192.168.1.1", false, "private"},
		{"fc00::1", false, "private"},
		{"fd12:3456::1", false, "private"},
		{"169.254.169.254", false, "link-local"},
		{"fe80::1", false, "link-local"},
		{"fe80::1%eth0", false, "link-local"},
		{"0.0.0.0", false, "unspecified"},
		{"0.1.2.3", false, "this network"},
		{"::", false, "unspecified"},
		{"100.64.0.1", false, "carrier-grade NAT"},
		{"100.127.255.255", false, "carrier-grade NAT"},
		{"192.0.0.8", false, "IETF"},
		{"192.0.2.1", false, "documentation"},
		{"198.18.0.1", false, "benchmarking"},
		{"198.19.255.255", false, "benchmarking"},
		{"198.51.100.7", false, "documentation"},
		{"203.0.113.9", false, "documentation"},
		{"240.0.0.1", false, "reserved"},
		{"255.255.255.255", false, "reserved"},
		{"224.0.0.1", false, "multicast"},
		{"239.255.255.250", false, "multicast"},
		{"ff02::1", false, "multicast"},
		{"ff0e::1", false, "multicast"},
		{"ff01::1", false, "multicast"},
		{"::ffff:127.0.0.1", false, "loopback"},
		{"::ffff:10.0.0.1", false, "private"},
		{"::ffff:169.254.169.254", false, "link-local"},
		{"::127.0.0.1", false, "IPv4-compatible"},
		{"::8.8.8.8", false, "IPv4-compatible"},
		{"::ffff:0:127.0.0.1", false, "IPv4-translated"},
		{"64:ff9b::7f00:1", false, "loopback"},           // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false, "link-local"},      // NAT64 of 169.254.169.254
		{"64:ff9b::a00:1", false, "private"},             // NAT64 of 10.0.0.1
		{"64:ff9b:1::808:808", false, "local-use NAT64"}, // RFC 8215
		{"2002:7f00:1::1", false, "loopback"},            // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false, "private"},           // 6to4 of 192.168.1.1
		{"2002:a9fe:a9fe::", false, "link-local"},        // 6to4 of 169.254.169.254
		{"2002::1", false, "unspecified"},                // 6to4 of 0.0.0.0
		{"2001::1", false, "Teredo"},
		{"2001:db8::1", false, "documentation"},
		{"100::1", false, "discard"},
		{"fec0::1", false, "site-local"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := publicAddr(netip.MustParseAddr(tc.addr))
			if tc.public {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted, want refused")
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("refusal %q does not say %q", err, tc.why)
			}
		})
	}
	if publicAddr(netip.Addr{}) == nil {
		t.Error("the zero address was accepted")
	}
}

// TestFetchURLRefusesEmbeddedLoopback dials IPv6 literals that carry the
// test server's loopback address: each must be refused at dial time, by
// the address check, before any connection is attempted.
func TestFetchURLRefusesEmbeddedLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached the server: %s", r.URL)
	}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	s := pathService(t)
	s.opts.AllowURLs = true
	for _, host := range []string{"[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::127.0.0.1]", "0.0.0.0", "[::]"} {
		_, err := s.fetchURL(context.Background(), "http://"+host+":"+port+"/img.png")
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "only public addresses") {
			t.Errorf("fetch from %s: err = %v, want a refusal by the address check", host, err)
		}
	}
}

func TestFetchURL(t *testing.T) {
	img := pngBytes(t, 10, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/img.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(img)
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 5000))
		case "/redirect":
			http.Redirect(w, r, "/img.png", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()

	t.Run("disabled", func(t *testing.T) {
		s := pathService(t)
		_, err := s.fetchURL(ctx, srv.URL+"/img.png")
		if err == nil || !strings.Contains(err.Error(), "--allow-urls") {
			t.Fatalf("err = %v, want disabled", err)
		}
	})
	t.Run("loopback refused at dial", func(t *testing.T) {
		s := pathService(t)
		s.opts.AllowURLs = true
		for _, u := range []string{srv.URL + "/img.png", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/img.png"} {
			_, err := s.fetchURL(ctx, u)
			if err == nil || !strings.Contains(err.Error(), "loopback") || !IsInputError(err) {
				t.Fatalf("fetch %s: err = %v, want loopback refusal", u, err)
			}
		}
	})
	// The remaining cases reach the test server, which is on loopback.
	s := pathService(t)
	s.opts.AllowURLs = true
	s.checkAddr = func(a netip.Addr) error {
		if a.IsLoopback() {
			return nil
		}
		return publicAddr(a)
	}
	tests := []struct {
		name, url, errHas string
	}{
		{"ok", srv.URL + "/img.png", ""},
		{"redirect", srv.URL + "/redirect", ""},
		{"too big", srv.URL + "/big", "larger than"},
		{"404", srv.URL + "/missing", "404"},
		{"redirect loop", srv.URL + "/loop", "redirects"},
		{"scheme", "file:///etc/passwd", "only http and https"},
		{"ftp", "ftp://example.com/a.png", "only http and https"},
		{"credentials", "http://u:p@example.com/a.png", "credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.fetchURL(ctx, tc.url)
			if tc.errHas == "" {
				if err != nil || !bytes.Equal(got, img) {
					t.Fatalf("fetch: %d bytes, %v", len(got), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.errHas)
			}
		})
	}
}

func TestThumbnailImage(t *testing.T) {
	tests := []struct{ w, h, max, ww, wh int }{
		{1000, 500, 256, 256, 128},
		{500, 1000, 256, 128, 256},
		{100, 80, 256, 100, 80},
		{3000, 2, 256, 256, 1},
		{1024, 1024, 1024, 1024, 1024},
	}
	for _, tc := range tests {
		img, _ := png.Decode(bytes.NewReader(pngBytes(t, tc.w, tc.h)))
		data, err := ThumbnailImage(img, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		got, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("thumbnail is not a JPEG: %v", err)
		}
		if b := got.Bounds(); b.Dx() != tc.ww || b.Dy() != tc.wh {
			t.Errorf("%dx%d max %d: got %dx%d, want %dx%d", tc.w, tc.h, tc.max, b.Dx(), b.Dy(), tc.ww, tc.wh)
		}
	}
	if _, err := ThumbnailImage(image.NewRGBA(image.Rect(0, 0, 4, 4)), 0); err == nil {
		t.Error("max side 0 accepted")
	}
}

func TestRefFromString(t *testing.T) {
	id := "0d6f7a38-8c5e-5b8a-9a43-2f5a8b0c1d2e"
	tests := []struct {
		in   string
		want ImageRef
	}{
		{"data:image/png;base64,AAAA", ImageRef{DataURI: "data:image/png;base64,AAAA"}},
		{"https://example.com/a.png", ImageRef{URL: "https://example.com/a.png"}},
		{id, ImageRef{ID: id}},
		{"image://" + id, ImageRef{ID: id}},
		{"/home/me/a.png", ImageRef{Path: "/home/me/a.png"}},
		{" photos/a.png ", ImageRef{Path: " photos/a.png "}}, // file names are never trimmed
		{"photo.png\n", ImageRef{Path: "photo.png\n"}},
		{" " + id + "\n", ImageRef{ID: id}},
	}
	for _, tc := range tests {
		if got := RefFromString(tc.in); got != tc.want {
			t.Errorf("RefFromString(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestTopK(t *testing.T) {
	tests := []struct {
		in, want int
		ok       bool
	}{{0, DefaultTopK, true}, {1, 1, true}, {100, 100, true}, {101, 0, false}, {-1, 0, false}}
	for _, tc := range tests {
		got, err := topK(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("topK(%d) = %d, %v", tc.in, got, err)
		}
		var ie *InputError
		if err != nil && (!errors.As(err, &ie) || ie.Field != "top_k") {
			t.Errorf("topK(%d) error %v is not an InputError on top_k", tc.in, err)
		}
	}
}
