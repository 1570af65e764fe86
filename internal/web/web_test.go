package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// hueTags are zero-shot tags the fake encoder can tell apart.
var hueTags = []string{"red", "green", "blue", "yellow", "purple"}

// env is a page over a fixture of drawn shapes, indexed with the fake
// encoder (one image per class, every second a JPEG, the green triangle
// with a Chinese name), served on 127.0.0.1.
type env struct {
	fix *toolstest.Fixture
	svc *tools.Service
	web *Server
	srv *httptest.Server
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	fix := toolstest.FakeFixture(t, toolstest.DrawOptions{
		Seed: 5, JPEG: true,
		Name: func(i int, c tinyshapes.Class) string {
			if c.String() == "green triangle" {
				return "绿色三角形"
			}
			return c.Color + "-" + c.Shape
		},
	}, ingest.Options{Tags: hueTags, TopTags: 1})
	svc, err := tools.New(toolstest.NewFake(), fix.Store, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return &env{fix: fix, svc: svc, web: w, srv: srv}
}

// get fetches path and returns the status and body.
func (e *env) get(t *testing.T, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, e.srv.Client(), req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// post sends a multipart form: fields, and files as field → path.
func (e *env) post(t *testing.T, path string, fields map[string]string, files map[string]string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fw, err := mw.CreateFormFile(k, filepath.Base(p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.srv.URL+path, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL) // as a browser sends it
	return do(t, e.srv.Client(), req)
}

var (
	hitName = regexp.MustCompile(`class="name" title="[^"]*">([^<]*)<`)
	alert   = regexp.MustCompile(`(?s)<div id="status" class="error" role="alert"( hidden)?>(.*?)</div>`)
)

func names(body string) []string {
	var out []string
	for _, m := range hitName.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func alertText(body string) string {
	m := alert.FindStringSubmatch(body)
	if m == nil || m[1] != "" {
		return ""
	}
	return m[2]
}

// idOf returns the id of the indexed image with this file name.
func (e *env) idOf(t *testing.T, name string) string {
	t.Helper()
	for _, c := range hueTags {
		out, err := e.svc.SearchImages(context.Background(), tools.SearchInput{Query: c, TopK: tools.MaxTopK})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range out.Hits {
			if filepath.Base(h.Path) == name {
				return h.ID
			}
		}
	}
	t.Fatalf("no indexed image %s", name)
	return ""
}

func TestSearchPage(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name      string
		path      string
		status    int
		first     string // prefix of the first result's name
		count     int    // results, -1 for any
		alert     string // substring of the error shown
		allPrefix string // every result's name starts with this
	}{
		{"no query", "/", 200, "", 0, "", ""},
		{"text", "/?q=a+red+shape", 200, "red-", -1, "", ""},
		{"top k", "/?q=blue&k=3", 200, "blue-", 3, "", ""},
		{"tag filter", "/?q=red&tags=purple&k=100", 200, "purple-", 4, "", "purple-"},
		{"tags full-width comma", "/?q=red&tags=purple%EF%BC%8Cblue&k=100", 200, "", 8, "", ""},
		{"min score", "/?q=red&min_score=0.5&k=100", 200, "red-", 4, "", "red-"},
		{"chinese query", "/?q=" + url.QueryEscape("绿色 green 三角形"), 200, "", -1, "", ""},
		{"chinese file name", "/?q=green&k=4", 200, "", 4, "", ""},
		{"bad min score", "/?q=red&min_score=abc", 400, "", 0, "Minimum score: &#34;abc&#34; is not a number", ""},
		{"min score out of range", "/?q=red&min_score=3", 400, "", 0, "Minimum score: must be between -1 and 1", ""},
		{"top k too large", "/?q=red&k=1000", 400, "", 0, "Results: at most 100", ""},
		{"unknown mode", "/?q=red&mode=ocr", 400, "", 0, "Mode: &#34;ocr&#34; is not one of clip, text, hybrid", ""},
		{"text mode, no text indexed", "/?q=red&mode=text", 200, "", 0, "", ""},
		{"clip mode", "/?q=red&mode=clip&k=100", 200, "", -1, "", ""},
		{"unknown similar id", "/?similar=00000000-0000-0000-0000-000000000000", 400, "", 0, "no indexed image has id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.get(t, tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; alert %q", res.StatusCode, tt.status, alertText(body))
			}
			if got := alertText(body); !strings.Contains(got, tt.alert) || (tt.alert == "" && got != "") {
				t.Errorf("alert %q, want it to contain %q", got, tt.alert)
			}
			n := names(body)
			if tt.count >= 0 && len(n) != tt.count {
				t.Errorf("%d results %q, want %d", len(n), n, tt.count)
			}
			if tt.first != "" && (len(n) == 0 || !strings.HasPrefix(n[0], tt.first)) {
				t.Errorf("results %q, want the first to start with %q", n, tt.first)
			}
			for _, name := range n {
				if tt.allPrefix != "" && !strings.HasPrefix(name, tt.allPrefix) {
					t.Errorf("result %s does not match the filter", name)
				}
			}
		})
	}
	t.Run("chinese file name shown", func(t *testing.T) {
		_, body := e.get(t, "/?q=green&k=4")
		if !strings.Contains(body, ">绿色三角形.png<") {
			t.Errorf("绿色三角形.png not among %q", names(body))
		}
	})
	t.Run("similar", func(t *testing.T) {
		id := e.idOf(t, "blue-square.jpg")
		_, body := e.get(t, "/?k=3&similar="+id)
		n := names(body)
		if len(n) != 3 || !strings.HasPrefix(n[0], "blue-") || strings.Contains(body, `href="/view/`+id+`"`) {
			t.Errorf("similar to blue-square.jpg: %q (the example itself must be left out)", n)
		}
		if !strings.Contains(body, "images like blue-square.jpg") {
			t.Error("the results do not say what they are like")
		}
	})
}

func TestSearchByUpload(t *testing.T) {
	e := newEnv(t, Options{})
	// An image that is not in the index: a new drawing of a yellow cross.
	img, err := tinyshapes.Render(rand.New(rand.NewSource(1)), "yellow", "cross", tinyshapes.DrawOptions{Width: 120, Height: 90})
	if err != nil {
		t.Fatal(err)
	}
	up := filepath.Join(t.TempDir(), "粘贴的图片.png")
	if err := tinyshapes.WriteFile(up, img); err != nil {
		t.Fatal(err)
	}
	res, body := e.post(t, "/", map[string]string{"k": "4", "tags": "yellow"}, map[string]string{"image": up})
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, alertText(body))
	}
	n := names(body)
	if len(n) != 4 || !strings.HasPrefix(n[0], "yellow-") {
		t.Errorf("results %q, want 4 yellow shapes", n)
	}
	if !strings.Contains(body, "images like 粘贴的图片.png") || !strings.Contains(body, `class="example" src="data:image/jpeg;base64,`) {
		t.Error("the page does not show the uploaded example")
	}
	t.Run("no image", func(t *testing.T) {
		res, body := e.post(t, "/", map[string]string{"k": "4"}, nil)
		if res.StatusCode != 400 || !strings.Contains(alertText(body), "Image: choose, drop or paste an image") {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
	t.Run("not an image", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "notes.png")
		if err := os.WriteFile(bad, []byte("not an image at all"), 0o644); err != nil {
			t.Fatal(err)
		}
		res, body := e.post(t, "/", nil, map[string]string{"image": bad})
		if res.StatusCode != 400 || !strings.Contains(alertText(body), "Image: not a readable image") {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
}

func TestOperations(t *testing.T) {
	e := newEnv(t, Options{})
	red := e.idOf(t, "red-square.jpg")
	green := e.idOf(t, "绿色三角形.png")
	t.Run("view", func(t *testing.T) {
		res, body := e.get(t, "/view/"+green)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, want := range []string{"<h1>绿色三角形.png</h1>", `href="/?similar=` + green + `"`, ">green <span>", "/classify?id=" + green} {
			if !strings.Contains(body, want) {
				t.Errorf("detail lacks %q", want)
			}
		}
	})
	t.Run("view unknown", func(t *testing.T) {
		res, _ := e.get(t, "/view/nope")
		if res.StatusCode != 404 {
			t.Errorf("status %d, want 404", res.StatusCode)
		}
	})
	t.Run("classify", func(t *testing.T) {
		_, body := e.get(t, "/classify?id="+red+"&labels="+url.QueryEscape("blue thing，red thing\n绿色"))
		rows := regexp.MustCompile(`<th scope="row">([^<]*)</th><td class="num">([^<]*)</td>`).FindAllStringSubmatch(body, -1)
		if len(rows) != 3 || rows[0][1] != "red thing" {
			t.Fatalf("rows %q, want red thing first of 3; alert %q", rows, alertText(body))
		}
	})
	t.Run("classify upload", func(t *testing.T) {
		res, body := e.post(t, "/classify", map[string]string{"labels": "purple, yellow"}, map[string]string{"image": e.fix.ByClass["yellow circle"]})
		if res.StatusCode != 200 || !strings.Contains(body, `<th scope="row">yellow</th>`) {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
	t.Run("classify without labels", func(t *testing.T) {
		res, body := e.post(t, "/classify", map[string]string{"id": red}, nil)
		if res.StatusCode != 400 || !strings.Contains(alertText(body), "Labels: give at least one") {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
	t.Run("compare", func(t *testing.T) {
		_, same := e.get(t, "/compare?a="+red+"&b=image://"+red)
		_, other := e.get(t, "/compare?a="+red+"&b="+green)
		cos := regexp.MustCompile(`<dt>Cosine similarity</dt><dd class="num">([^<]*)</dd>`)
		s, o := cos.FindStringSubmatch(same), cos.FindStringSubmatch(other)
		if s == nil || o == nil || s[1] != "1.0000" || o[1] >= s[1] {
			t.Errorf("cosine same %v, other %v", s, o)
		}
	})
	t.Run("compare upload and id", func(t *testing.T) {
		res, body := e.post(t, "/compare", map[string]string{"b": red}, map[string]string{"a_file": e.fix.ByClass["red circle"]})
		if res.StatusCode != 200 || !strings.Contains(body, "Cosine similarity") {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
	t.Run("compare one image", func(t *testing.T) {
		res, body := e.post(t, "/compare", map[string]string{"a": red}, nil)
		if res.StatusCode != 400 || !strings.Contains(alertText(body), "give two images") {
			t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
		}
	})
	t.Run("stats", func(t *testing.T) {
		_, body := e.get(t, "/stats")
		for _, want := range []string{`<dt>Images</dt><dd class="num">20</dd>`, toolstest.FakeID, `<a href="/?tags=red">red</a>`} {
			if !strings.Contains(body, want) {
				t.Errorf("stats lack %q", want)
			}
		}
	})
}

func TestImages(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, Options{ThumbDir: dir})
	id := e.idOf(t, "绿色三角形.png")
	res, _ := e.get(t, "/thumb/"+id)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || res.Header.Get("X-Cache") != "miss" || etag == "" ||
		res.Header.Get("Cache-Control") != imageCache {
		t.Fatalf("first thumbnail: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := e.get(t, "/thumb/"+id); res.Header.Get("X-Cache") != "hit" || res.Header.Get("ETag") != etag {
		t.Errorf("second thumbnail: X-Cache %q, ETag %q", res.Header.Get("X-Cache"), res.Header.Get("ETag"))
	}
	if res, body := e.get(t, "/thumb/"+id, "If-None-Match", etag); res.StatusCode != 304 || body != "" {
		t.Errorf("conditional request: %d", res.StatusCode)
	}
	if res, _ := e.get(t, "/thumb/"+id+"?s=512"); res.Header.Get("ETag") == etag {
		t.Error("the 2x thumbnail has the 1x ETag")
	}
	if n, size := e.web.ThumbCacheStats(); n != 2 || size == 0 {
		t.Errorf("cache holds %d thumbnails, %d bytes; want 2", n, size)
	}
	// A new server over the same cache finds the thumbnails made before.
	w2, err := New(e.svc, Options{ThumbDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/thumb/"+id, nil)
	req.Host = "localhost"
	w2.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("X-Cache") != "hit" {
		t.Errorf("after a restart: %d, X-Cache %q", rec.Code, rec.Header().Get("X-Cache"))
	}

	res, body := e.get(t, "/img/"+id)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || len(body) == 0 {
		t.Errorf("large view: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, body = e.get(t, "/file/"+id)
	orig, _ := os.ReadFile(e.fix.ByClass["green triangle"])
	if res.StatusCode != 200 || body != string(orig) ||
		res.Header.Get("Content-Disposition") != "inline; filename*=UTF-8''%E7%BB%BF%E8%89%B2%E4%B8%89%E8%A7%92%E5%BD%A2.png" {
		t.Errorf("original: %d, %d bytes, %q", res.StatusCode, len(body), res.Header.Get("Content-Disposition"))
	}
	for _, p := range []string{"/thumb/nope", "/img/nope", "/file/nope"} {
		if res, _ := e.get(t, p); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}

	// A file replaced by a link that leads out of the indexed folders is
	// not served, cached thumbnail or not.
	outside := filepath.Join(t.TempDir(), "secret.png")
	if err := os.WriteFile(outside, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.fix.ByClass["green triangle"]
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, p); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/thumb/" + id, "/img/" + id, "/file/" + id, "/thumb/" + id + "?s=512"} {
		if res, body := e.get(t, path); res.StatusCode != 403 || !strings.Contains(body, "outside the allowed roots") {
			t.Errorf("%s through a link out: %d %q", path, res.StatusCode, body)
		}
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, Options{})
	_, page := e.get(t, "/")
	m := regexp.MustCompile(`src="(/static/app\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page does not load app.js by a versioned URL")
	}
	res, body := e.get(t, m[1])
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "use strict") {
		t.Errorf("app.js: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := e.get(t, m[1], "If-None-Match", res.Header.Get("ETag")); res.StatusCode != 304 {
		t.Errorf("conditional app.js: %d", res.StatusCode)
	}
	if res, _ := e.get(t, "/static/nope.js"); res.StatusCode != 404 {
		t.Errorf("unknown asset: %d", res.StatusCode)
	}
	res, _ = e.srv.Client().Transport.(*http.Transport).RoundTrip(mustRequest(t, "GET", e.srv.URL+"/favicon.ico"))
	if res.StatusCode != http.StatusMovedPermanently {
		t.Errorf("favicon.ico: %d", res.StatusCode)
	}
	// With no-referrer, browsers send "Origin: null" on form posts, which
	// the guard refuses (TestServeBrowser's classify step posts a form).
	if rp := res.Header.Get("Referrer-Policy"); rp != "same-origin" {
		t.Errorf("Referrer-Policy %q", rp)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestGuard: the page applies the rules of package httpguard, and a
// browser can bring the token once in the URL.
func TestGuard(t *testing.T) {
	e := newEnv(t, Options{Token: "s3cret-令牌"})
	id := e.idOf(t, "red-square.jpg")
	tests := []struct {
		name   string
		path   string
		header []string
		status int
	}{
		{"no token", "/", nil, 401},
		{"no token, thumbnail", "/thumb/" + id, nil, 401},
		{"bearer", "/", []string{"Authorization", "Bearer s3cret-令牌"}, 200},
		{"wrong cookie", "/", []string{"Cookie", TokenCookie + "=nope"}, 401},
		{"cookie", "/thumb/" + id, []string{"Cookie", TokenCookie + "=" + base64.RawURLEncoding.EncodeToString([]byte("s3cret-令牌"))}, 200},
		{"raw token in the cookie", "/", []string{"Cookie", TokenCookie + "=s3cret"}, 401},
		{"rebinding", "/", []string{"Authorization", "Bearer s3cret-令牌", "Host", "evil.example"}, 403},
		{"foreign origin", "/", []string{"Authorization", "Bearer s3cret-令牌", "Origin", "http://evil.example"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustRequest(t, "GET", e.srv.URL+tt.path)
			for i := 0; i+1 < len(tt.header); i += 2 {
				if tt.header[i] == "Host" {
					req.Host = tt.header[i+1]
				} else {
					req.Header.Set(tt.header[i], tt.header[i+1])
				}
			}
			res, body := do(t, e.srv.Client(), req)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
		})
	}
	t.Run("token in the URL becomes a cookie", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		var hops []string
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.URL.RequestURI())
			return nil
		}
		res, body := do(t, c, mustRequest(t, "GET", e.srv.URL+"/?q=red&token="+url.QueryEscape("s3cret-令牌")))
		if res.StatusCode != 200 || len(names(body)) == 0 {
			t.Fatalf("status %d after %q", res.StatusCode, hops)
		}
		if len(hops) != 1 || hops[0] != "/?q=red" {
			t.Errorf("redirected to %q, want /?q=red (the token taken out)", hops)
		}
		u, _ := url.Parse(e.srv.URL)
		if ck := jar.Cookies(u); len(ck) != 1 || ck[0].Name != TokenCookie {
			t.Errorf("cookies %v", ck)
		}
		// The cookie alone now opens thumbnails, as <img> loads them.
		res, _ = do(t, c, mustRequest(t, "GET", e.srv.URL+"/thumb/"+id))
		if res.StatusCode != 200 {
			t.Errorf("thumbnail with the cookie: %d", res.StatusCode)
		}
	})
	t.Run("wrong token in the URL", func(t *testing.T) {
		res, _ := e.get(t, "/?token=nope")
		if res.StatusCode != 401 || res.Header.Get("Set-Cookie") != "" {
			t.Errorf("status %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
		}
	})
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, Options{})
	big := filepath.Join(t.TempDir(), "big.png")
	limit := 2*e.svc.Options().MaxDataURIBytes + 1<<20
	if err := os.WriteFile(big, make([]byte, limit+1), 0o644); err != nil {
		t.Fatal(err)
	}
	res, body := e.post(t, "/", nil, map[string]string{"image": big})
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d: %.200s", res.StatusCode, body)
	}
	// Under the request limit but over the service's image limit: the
	// service says so.
	over := filepath.Join(t.TempDir(), "over.png")
	if err := os.WriteFile(over, make([]byte, e.svc.Options().MaxDataURIBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	res, body = e.post(t, "/", nil, map[string]string{"image": over})
	if res.StatusCode != 400 || !strings.Contains(alertText(body), "at most") {
		t.Errorf("status %d, alert %q", res.StatusCode, alertText(body))
	}
}

// TestServiceErrors: a failing encoder is a 500 with its message on the
// page, never a blank one.
func TestServiceErrors(t *testing.T) {
	fix := toolstest.FakeFixture(t, toolstest.DrawOptions{Count: 4}, ingest.Options{})
	fake := toolstest.NewFake()
	svc, err := tools.New(fake, fix.Store, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(svc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("the model broke")
	fake.Fail.Store(&boom)
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/?q=red", nil)
	req.Host = "127.0.0.1"
	w.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(alertText(rec.Body.String()), "the model broke") {
		t.Errorf("status %d, alert %q", rec.Code, alertText(rec.Body.String()))
	}
}

// TestHitTextShown: a hit whose image has text read at ingest shows it in
// the grid and on its page; a title finds its image in the default
// (hybrid) and the text mode.
func TestHitTextShown(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	id := e.idOf(t, "blue-square.jpg")
	recs, err := e.fix.Store.Get(ctx, []string{id})
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	r := recs[0]
	r.Payload.Text = []retriever.TextLine{{Text: "Figure 3. Fault system <overlay> map", Confidence: 0.98}, {Text: "断裂体系叠合图", Confidence: 0.99}}
	r.Payload.TextBy = "test-ocr"
	if err := e.fix.Store.Upsert(ctx, []retriever.Record{r}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"", "text", "hybrid"} {
		_, body := e.get(t, "/?q="+url.QueryEscape("断裂体系叠合图")+"&mode="+mode)
		if n := names(body); len(n) == 0 || n[0] != "blue-square.jpg" {
			t.Errorf("mode %q: results %q, want blue-square.jpg first", mode, n)
		}
		if !strings.Contains(body, `<span class="text">断裂体系叠合图
Figure 3. Fault system &lt;overlay&gt; map</span>`) {
			t.Errorf("mode %q: the hit's text is not shown, matching line first, escaped", mode)
		}
	}
	_, body := e.get(t, "/view/"+id)
	if !strings.Contains(body, "<dt>Text</dt>") || !strings.Contains(body, "断裂体系叠合图") {
		t.Error("the image's page does not show its text")
	}
}
