// Command webshot takes the screenshots of the web page that the README
// shows, from a real run: it indexes examples/shapes and examples/images
// with the tiny model and shape tags into a temporary index (with the
// rag-ingest binary it is given), starts "rag-search serve" on a free
// loopback port, and drives headless Chromium through a search and the
// viewer, saving a PNG of each. Run it through scripts/web-screenshots.sh.
//
//	webshot -rag-ingest BIN -rag-search BIN -out docs
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cliprag/cliprag/internal/web/webtest"
)

// Query is the search the screenshots show.
const Query = "a photo of a purple triangle"

func main() {
	ingestBin := flag.String("rag-ingest", "rag-ingest", "the rag-ingest binary")
	searchBin := flag.String("rag-search", "rag-search", "the rag-search binary")
	out := flag.String("out", "docs", "folder to write web-search.png and web-viewer.png to")
	flag.Parse()
	if err := run(*ingestBin, *searchBin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "webshot:", err)
		os.Exit(1)
	}
}

func run(ingestBin, searchBin, out string) error {
	work, err := os.MkdirTemp("", "cliprag-webshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	store := filepath.Join(work, "index")
	tags := filepath.Join(work, "tags.txt")
	if err := os.WriteFile(tags, []byte("circle\nsquare\ntriangle\ncross\n"), 0o644); err != nil {
		return err
	}
	ing := exec.Command(ingestBin, "-model", "tiny-shapes", "-store", store, "-tags", tags, "-quiet", "examples/shapes", "examples/images")
	ing.Stderr = os.Stderr
	if err := ing.Run(); err != nil {
		return fmt.Errorf("rag-ingest: %w", err)
	}
	url, stop, err := serve(searchBin, store, filepath.Join(work, "thumbs"))
	if err != nil {
		return err
	}
	defer stop()

	chromium, err := webtest.Chromium()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := webtest.Start(ctx, chromium, filepath.Join(work, "profile"), 1280, 900)
	if err != nil {
		return err
	}
	defer b.Close()
	done := `document.querySelectorAll('#results .hit').length > 0 && Array.from(document.querySelectorAll('#results .hit img')).every(i => i.complete && i.naturalWidth > 0)`
	err = chromedp.Do(b.Ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), Query+kb.Enter),
		chromedp.Poll[chromedp.Void](done),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`),
	)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if err := shot(b, filepath.Join(out, "web-search.png")); err != nil {
		return err
	}
	err = chromedp.Do(b.Ctx,
		chromedp.Click(chromedp.CSS("#results .hit-link")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#viewer').open && document.querySelector('#viewer .large img').complete`),
	)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	if err := shot(b, filepath.Join(out, "web-viewer.png")); err != nil {
		return err
	}
	if p := b.Problems(); len(p) > 0 {
		return fmt.Errorf("the console reported: %q", p)
	}
	return nil
}

// shot saves the visible part of the page.
func shot(b *webtest.Browser, path string) error {
	buf, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}

var servingLine = regexp.MustCompile(`rag-search: serving (http://\S+) `)

// serve starts rag-search serve and returns its address and a func that
// stops it.
func serve(bin, store, thumbs string) (string, func(), error) {
	cmd := exec.Command(bin, "serve", "-model", "tiny-shapes", "-store", store, "-addr", "127.0.0.1:0", "-thumbnail-cache", thumbs, "-quiet")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("rag-search serve: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
			fmt.Fprintln(os.Stderr, sc.Text())
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if ok {
			return u, stop, nil
		}
	case <-time.After(30 * time.Second):
	}
	stop()
	return "", nil, errors.New("rag-search serve printed no address")
}
