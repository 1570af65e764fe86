// Package webtest drives the system's Chromium, headless, for the tests of
// cliprag's web page and for the script that takes its screenshots. It
// finds the browser, starts it with flags that work in containers and CI
// (no sandbox, no GPU, no network of its own, a fresh profile), and
// records what the page writes to the console. It is for tests and
// scripts only; no product package imports it.
package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// EnvChromium names the variable that points at a Chromium other than the
// one on PATH.
const EnvChromium = "CLIPRAG_CHROMIUM"

// ErrNoChromium says that no Chromium was found.
var ErrNoChromium = errors.New("no Chromium found (apt-get install chromium, or set " + EnvChromium + ")")

// Chromium returns the browser to drive: $CLIPRAG_CHROMIUM, or the first
// of chromium, chromium-browser, google-chrome on PATH.
func Chromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Browser is a running headless Chromium with one tab.
type Browser struct {
	Ctx    context.Context // the tab: pass it to chromedp.Do and chromedp.Run
	cancel []context.CancelFunc

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// Start starts Chromium at path with a new profile in profileDir and a
// window of width × height, and begins recording the console of its tab.
func Start(ctx context.Context, path, profileDir string, width, height int) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profileDir),
		chromedp.NoSandbox,
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	b := &Browser{Ctx: tab, cancel: []context.CancelFunc{cancelTab, cancelAlloc}}
	msgs := chromedp.Console(tab)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		b.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// Close stops the browser.
func (b *Browser) Close() {
	for _, c := range b.cancel {
		c()
	}
}

// Problems returns the console's errors, warnings and uncaught exceptions
// since the browser started (failed loads and refused scripts included),
// one line each.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			out = append(out, fmt.Sprintf("%s: %s (%s:%d)", m.Type, strings.TrimSpace(m.String()), m.URL, m.Line+1))
		}
	}
	return out
}

// Screenshot saves the whole page as a PNG at path, creating its folder.
func (b *Browser) Screenshot(path string) error {
	buf, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf, 0o644)
}
