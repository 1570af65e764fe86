package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/internal/web/webtest"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// syncBuffer is a buffer the server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingLine = regexp.MustCompile(`rag-search: serving (http://\S+) `)

// startServe runs "rag-search serve args..." in-process on a free
// loopback port and returns the address it printed; the server stops when
// the test ends, and must exit 0.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--model", toolstest.ModelRef(), "--addr", "127.0.0.1:0"}, args...), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d: %s", code, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve printed no address: %s", stderr)
	return ""
}

func TestServeUsage(t *testing.T) {
	f := shared.Get(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"non-loopback without token", []string{"serve", "--store", f.store, "--addr", "0.0.0.0:0"}, exitUsage,
			"rag-search: --addr 0.0.0.0:0 binds a non-loopback address without a token: set --token or CLIPRAG_TOKEN"},
		{"arguments", []string{"serve", "--store", f.store, "extra"}, exitUsage, `serve: takes no arguments, got ["extra"]`},
		{"bad cache size", []string{"serve", "--store", f.store, "--thumbnail-cache-mb", "0"}, exitUsage, "--thumbnail-cache-mb must be at least 1"},
		{"empty index", []string{"serve", "--store", f.empty, "--addr", "127.0.0.1:0"}, exitIndex, "is empty: run rag-ingest FOLDER first"},
		{"help", []string{"help", "serve"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rs(t, withModel(tt.args...)...)
			if tt.args[0] == "help" {
				r = rs(t, tt.args...)
			}
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

// TestServeToken: off loopback a token is required, and the address
// printed carries it.
func TestServeToken(t *testing.T) {
	f := shared.Get(t)
	t.Setenv("CLIPRAG_TOKEN", "s3cret")
	addr := startServe(t, "--store", f.store, "--thumbnail-cache", "memory", "--quiet")
	if !strings.HasSuffix(addr, "/?token=s3cret") {
		t.Fatalf("printed %s, want the address with the token", addr)
	}
	res, err := http.Get(strings.TrimSuffix(addr, "?token=s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d", res.StatusCode)
	}
	res, err = http.Get(addr) // follows the redirect, keeping no cookie: 401 again
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.RawQuery != "" {
		t.Errorf("redirected to %s, want the token taken out", res.Request.URL)
	}
}

// browserFixture draws one 224-pixel image per class of the tiny model's
// domain (the green triangle named 绿色三角形.png), tags each with its
// shape, and indexes them with the real model.
func browserFixture(t *testing.T) *toolstest.Fixture {
	t.Helper()
	m := toolstest.Model(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fix, err := toolstest.BuildFixture(context.Background(), m, base, toolstest.DrawOptions{
		Seed: 11, JPEG: true,
		Draw: tinyshapes.DrawOptions{Width: 224, Height: 224, Scale: 0.6, Background: tinyshapes.BackgroundPlain},
		Name: func(i int, c tinyshapes.Class) string {
			if c.String() == "green triangle" {
				return "绿色三角形"
			}
			return c.Color + "-" + c.Shape
		},
	}, ingest.Options{Tags: tinyshapes.Shapes, TopTags: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := fix.Close(); err != nil { // serve opens it read-only
		t.Fatal(err)
	}
	return fix
}

// drawn returns a new PNG of a class, not in the index, as base64.
func drawn(t *testing.T, color, shape string) string {
	t.Helper()
	img, err := tinyshapes.Render(rand.New(rand.NewSource(99)), color, shape, tinyshapes.DrawOptions{Width: 200, Height: 160, Scale: 0.6, Background: tinyshapes.BackgroundPlain})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.png")
	if err := tinyshapes.WriteFile(p, img); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

// browser starts Chromium for a test: it skips when there is none,
// except under CI=true, where it fails.
func browser(t *testing.T) *webtest.Browser {
	t.Helper()
	path, err := webtest.Chromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	b, err := webtest.Start(context.Background(), path, t.TempDir(), 1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// session runs the steps of a browser test; a failing step saves a
// screenshot and says where.
type session struct {
	t    *testing.T
	b    *webtest.Browser
	base string // the page's address
	seen int    // console problems already reported
}

// screenshotDir is where failing steps save their screenshots:
// $CLIPRAG_TEST_SCREENSHOTS, or cliprag-web-screenshots in the temporary
// folder (kept after the test, for CI to collect).
func screenshotDir() string {
	if d := os.Getenv("CLIPRAG_TEST_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "cliprag-web-screenshots")
}

func (s *session) step(name string, fn func(ctx context.Context) error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.b.Ctx, 30*time.Second)
	err := fn(ctx)
	cancel()
	if p := s.b.Problems(); err == nil && len(p) > s.seen {
		err = fmt.Errorf("the console reported:\n  %s", strings.Join(p[s.seen:], "\n  "))
		s.seen = len(p)
	}
	if err == nil {
		return
	}
	shot := filepath.Join(screenshotDir(), strings.NewReplacer(" ", "-", "/", "-").Replace(s.t.Name()+"-"+name)+".png")
	if serr := s.b.Screenshot(shot); serr != nil {
		shot = "none: " + serr.Error()
	}
	s.t.Fatalf("step %q: %v\nscreenshot: %s", name, err, shot)
}

// wait polls a JavaScript condition until it is true.
func wait(ctx context.Context, cond string) error {
	err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(25*time.Millisecond)))
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out waiting for %s", cond)
	}
	return err
}

func eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

const namesJS = `Array.from(document.querySelectorAll('#results .hit .name')).map(e => e.textContent)`

// resultNames returns the names in the result grid.
func resultNames(ctx context.Context) ([]string, error) { return eval[[]string](ctx, namesJS) }

// dropJS drops (or pastes) a PNG given in base64 on the element sel, as a
// browser does when a file is dragged onto the page.
func dropJS(sel, event, name, b64 string) string {
	return fmt.Sprintf(`(() => {
  const bin = atob(%q); const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], %q, {type: "image/png"}));
  const target = document.querySelector(%q);
  const ev = %q === "paste"
    ? new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true})
    : new DragEvent(%q, {dataTransfer: dt, bubbles: true, cancelable: true});
  target.dispatchEvent(ev);
  return true;
})()`, b64, name, sel, event, event)
}

// TestServeBrowser drives the page in headless Chromium over an index of
// drawn shapes made with the real tiny model: a text query, the keyboard,
// the viewer and its "similar" action, an image dropped and one pasted, a
// tag filter, a Chinese query, classify and compare; no step may leave an
// error or a warning in the console.
func TestServeBrowser(t *testing.T) {
	b := browser(t)
	fix := browserFixture(t)
	s := &session{t: t, b: b, base: startServe(t, "--store", fix.Index, "--thumbnail-cache", t.TempDir(), "--quiet")}

	var names []string
	s.step("search by text", func(ctx context.Context) error {
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.base),
			chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), "a photo of a purple triangle"+kb.Enter),
		)
		if err == nil {
			err = wait(ctx, `document.title.startsWith("a photo of a purple triangle") && document.querySelectorAll('#results .hit').length > 0`)
		}
		if err != nil {
			return err
		}
		if names, err = resultNames(ctx); err != nil {
			return err
		}
		if len(names) < 3 || names[0] != "purple-triangle.png" {
			return fmt.Errorf("results %q, want purple-triangle.png first", names)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && !strings.Contains(loc, "q=a+photo+of+a+purple+triangle") {
			err = fmt.Errorf("the address is %s, want the query in it", loc)
		}
		return err
	})
	s.step("thumbnails load", func(ctx context.Context) error {
		return wait(ctx, `Array.from(document.querySelectorAll('#results .hit img')).slice(0, 6).every(i => i.complete && i.naturalWidth > 0)`)
	})
	s.step("keyboard: move and open", func(ctx context.Context) error {
		err := chromedp.Do(ctx,
			chromedp.Focus(chromedp.CSS("#results .hit-link")),
			chromedp.KeyEvent(kb.ArrowRight),
		)
		if err == nil {
			err = wait(ctx, `document.activeElement === document.querySelectorAll('#results .hit-link')[1]`)
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter))
		}
		if err == nil {
			err = wait(ctx, fmt.Sprintf(`document.querySelector('#viewer').open && document.querySelector('#viewer h1')?.textContent === %q`, names[1]))
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight))
		}
		if err == nil {
			err = wait(ctx, fmt.Sprintf(`document.querySelector('#viewer h1')?.textContent === %q`, names[2]))
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape))
		}
		if err == nil {
			err = wait(ctx, `!document.querySelector('#viewer').open && document.activeElement === document.querySelectorAll('#results .hit-link')[2]`)
		}
		return err
	})
	s.step("open a result and find similar", func(ctx context.Context) error {
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#results .hit-link")))
		if err == nil {
			err = wait(ctx, `document.querySelector('#viewer').open && document.querySelector('#viewer h1')?.textContent === "purple-triangle.png" && document.querySelector('#viewer .large img').complete`)
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#viewer [data-action=similar]")))
		}
		if err == nil {
			err = wait(ctx, `!document.querySelector('#viewer').open && document.querySelector('#results h2')?.textContent.includes("images like purple-triangle.png")`)
		}
		if err != nil {
			return err
		}
		got, err := resultNames(ctx)
		if err != nil {
			return err
		}
		if len(got) == 0 || got[0] == "purple-triangle.png" || !(strings.HasPrefix(got[0], "purple-") || strings.Contains(got[0], "triangle") || got[0] == "绿色三角形.png") {
			return fmt.Errorf("similar to purple-triangle.png: %q", got)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && !strings.Contains(loc, "similar=") {
			err = fmt.Errorf("the address is %s, want similar= in it", loc)
		}
		return err
	})
	s.step("drop an image", func(ctx context.Context) error {
		if _, err := eval[bool](ctx, dropJS("#results", "drop", "拖放的图片.png", drawn(t, "yellow", "cross"))); err != nil {
			return err
		}
		if err := wait(ctx, `document.querySelector('#results h2')?.textContent.includes("images like 拖放的图片.png")`); err != nil {
			return err
		}
		got, err := resultNames(ctx)
		if err == nil && (len(got) == 0 || !strings.HasPrefix(got[0], "yellow-cross")) {
			err = fmt.Errorf("a dropped yellow cross found %q", got)
		}
		return err
	})
	s.step("paste an image", func(ctx context.Context) error {
		if _, err := eval[bool](ctx, dropJS("body", "paste", "image.png", drawn(t, "red", "circle"))); err != nil {
			return err
		}
		if err := wait(ctx, `document.querySelector('#results h2')?.textContent.includes("images like image.png")`); err != nil {
			return err
		}
		got, err := resultNames(ctx)
		if err == nil && (len(got) == 0 || !strings.HasPrefix(got[0], "red-circle")) {
			err = fmt.Errorf("a pasted red circle found %q", got)
		}
		return err
	})
	s.step("drag a result onto the page", func(ctx context.Context) error {
		_, err := eval[bool](ctx, `(() => {
  const img = document.querySelector('#results .hit img');
  window.draggedName = img.alt;
  const dt = new DataTransfer();
  dt.setData("text/uri-list", img.src);
  document.querySelector('#results').dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
  return true;
})()`)
		if err == nil {
			err = wait(ctx, `location.search.includes("similar=") && document.querySelector('#results h2')?.textContent.includes("images like " + window.draggedName)`)
		}
		return err
	})
	s.step("tag filter", func(ctx context.Context) error {
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.base),
			chromedp.Click(chromedp.CSS(".filters summary")),
			chromedp.SendKeys(chromedp.ID("tags"), "triangle"),
			chromedp.SendKeys(chromedp.ID("q"), "a photo of a red shape"+kb.Enter),
		)
		if err == nil {
			err = wait(ctx, `location.search.includes("tags=triangle") && document.querySelectorAll('#results .hit').length > 0`)
		}
		if err != nil {
			return err
		}
		tags, err := eval[[]string](ctx, `Array.from(document.querySelectorAll('#results .hit')).map(h => Array.from(h.querySelectorAll('.tag')).map(t => t.textContent).join(","))`)
		if err != nil {
			return err
		}
		if len(tags) != 5 {
			return fmt.Errorf("%d results with tag triangle, want the 5 triangles: %q", len(tags), tags)
		}
		for _, tg := range tags {
			if tg != "triangle" {
				return fmt.Errorf("a result tagged %q passed the filter", tg)
			}
		}
		got, err := resultNames(ctx)
		if err == nil && got[0] != "red-triangle.png" {
			err = fmt.Errorf("results %q, want red-triangle.png first", got)
		}
		return err
	})
	s.step("chinese query and file name", func(ctx context.Context) error {
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.base+"?q="+"%E7%BB%BF%E8%89%B2%E4%B8%89%E8%A7%92%E5%BD%A2+a+photo+of+a+green+triangle"),
			chromedp.WaitVisible(chromedp.CSS("#results .hit")),
		)
		if err != nil {
			return err
		}
		q, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("q")))
		if err == nil && q != "绿色三角形 a photo of a green triangle" {
			err = fmt.Errorf("the search box says %q", q)
		}
		if err != nil {
			return err
		}
		got, err := resultNames(ctx)
		if err == nil && (len(got) == 0 || got[0] != "绿色三角形.png") {
			err = fmt.Errorf("results %q, want 绿色三角形.png first", got)
		}
		return err
	})
	s.step("classify", func(ctx context.Context) error {
		id, err := eval[string](ctx, `document.querySelector('#results .hit-link').dataset.id`)
		if err == nil {
			err = chromedp.Do(ctx,
				chromedp.Navigate(s.base+"classify?id="+id),
				chromedp.SendKeys(chromedp.ID("labels"), "red circle, green triangle\n构造图"),
				chromedp.Click(chromedp.CSS("#classify button[type=submit]")),
				chromedp.WaitVisible(chromedp.ID("classify-results")),
			)
		}
		if err != nil {
			return err
		}
		first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#classify-results tbody th")))
		if err == nil && first != "green triangle" {
			err = fmt.Errorf("classified as %q first, want green triangle", first)
		}
		return err
	})
	s.step("compare a dropped image with an indexed one", func(ctx context.Context) error {
		err := chromedp.Do(ctx, chromedp.Navigate(s.base+"?q=a+photo+of+a+blue+square"), chromedp.WaitVisible(chromedp.CSS("#results .hit")))
		if err != nil {
			return err
		}
		id, err := eval[string](ctx, `document.querySelector('#results .hit-link').dataset.id`)
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Navigate(s.base+"compare?b="+id), chromedp.WaitVisible(chromedp.ID("a_file")))
		}
		if err == nil {
			_, err = eval[bool](ctx, dropJS("#compare .drop", "drop", "方块.png", drawn(t, "blue", "square")))
		}
		if err == nil {
			err = wait(ctx, `document.querySelector('#a_file').files.length === 1 && document.querySelector('#compare .drop img.example')`)
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#compare button[type=submit]")), chromedp.WaitVisible(chromedp.ID("compare-result")))
		}
		if err != nil {
			return err
		}
		cos, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#compare-result dd")))
		if err == nil && cos < "0.9" {
			err = fmt.Errorf("a blue square against an indexed one: cosine %s, want above 0.9", cos)
		}
		return err
	})
}
