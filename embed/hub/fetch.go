package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
)

// FetchOptions configures Fetch.
type FetchOptions struct {
	SHA256   string        // expected sha256 (hex); empty: the server's X-Linked-Etag/ETag when it is a sha256, else unchecked
	Size     int64         // expected size in bytes; 0: unknown
	Header   http.Header   // extra request headers (e.g. Authorization)
	Progress progress.Func // progress reports; nil for none
	Label    string        // name shown in progress lines; empty: the file name
	Client   *http.Client  // nil: a client with proxies from the environment and set-up timeouts
	Attempts int           // tries, each resuming the partial file; 0 means 4
	Backoff  time.Duration // pause before a retry; 0 means 500ms
}

// HTTPError is returned when the server answers with an unexpected status.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Status)
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (gated or private repository? set HF_TOKEN to an access token)"
	}
	return msg
}

// ErrHashMismatch is wrapped by errors for downloads whose sha256 is wrong.
var ErrHashMismatch = errors.New("sha256 mismatch")

// defaultClient takes proxies from the environment and bounds connection
// set-up; the transfer itself is bounded by the caller's context.
var defaultClient = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr}
}()

// defaultBackoff is the pause before a retry; tests shorten it.
var defaultBackoff = 500 * time.Millisecond

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// etagSHA256 returns the sha256 carried by an ETag-like header, or "".
func etagSHA256(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	v = strings.ToLower(strings.Trim(v, `"`))
	if sha256Re.MatchString(v) {
		return v
	}
	return ""
}

// Fetch downloads url to dest: into dest+".part", resuming a partial file
// with a Range request and retrying a cut connection, then checks the sha256
// and renames the file into place. It returns the file's sha256 (hex). On a
// hash mismatch neither dest nor the partial file is kept.
func Fetch(ctx context.Context, url, dest string, o FetchOptions) (string, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = defaultBackoff
	}
	if o.Label == "" {
		o.Label = filepath.Base(dest)
	}
	want := strings.ToLower(o.SHA256)
	if want != "" && !sha256Re.MatchString(want) {
		return "", fmt.Errorf("fetch %s: bad expected sha256 %q", url, o.SHA256)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("fetch %s: %w", url, err)
	}
	part := dest + ".part"
	var last error
	restarted := false
	for attempt := 0; attempt < o.Attempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("fetch %s: %w", url, ctx.Err())
			case <-time.After(o.Backoff):
			}
		}
		sum, serverSHA, err := fetchOnce(ctx, url, part, o)
		if err == nil {
			sum, err = finishPart(url, part, dest, sum, firstNonEmpty(want, serverSHA), o.Size)
			if errors.Is(err, ErrHashMismatch) && !restarted {
				// A resumed file may have been spliced from two versions:
				// start once more from scratch.
				restarted, last = true, err
				continue
			}
			return sum, err
		}
		last = err
		if ctx.Err() != nil {
			return "", fmt.Errorf("fetch %s: %w", url, ctx.Err())
		}
		if permanent(err) {
			return "", err
		}
	}
	return "", last
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// permanent reports whether err is an HTTP status that a retry cannot fix
// (4xx other than a timeout or rate limit).
func permanent(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 &&
		he.StatusCode != http.StatusRequestTimeout && he.StatusCode != http.StatusTooManyRequests
}

// finishPart checks a complete part file against the expected sha256 and
// size and renames it to dest. A part file that fails a check is removed.
func finishPart(url, part, dest, sum, expect string, size int64) (string, error) {
	if expect != "" && sum != expect {
		os.Remove(part)
		return "", fmt.Errorf("fetch %s: %w: got %s, want %s", url, ErrHashMismatch, sum, expect)
	}
	if size > 0 {
		if st, err := os.Stat(part); err == nil && st.Size() != size {
			os.Remove(part)
			return "", fmt.Errorf("fetch %s: size %d, want %d", url, st.Size(), size)
		}
	}
	if err := os.Rename(part, dest); err != nil {
		return "", fmt.Errorf("fetch %s: %w", url, err)
	}
	return sum, nil
}

// fetchOnce does one request, appending to part (or rewriting it), and
// returns the sha256 of the whole part file plus the sha256 the server named.
func fetchOnce(ctx context.Context, url, part string, o FetchOptions) (sum, serverSHA string, err error) {
	var offset int64
	if st, err := os.Stat(part); err == nil {
		offset = st.Size()
	}
	if o.Size > 0 && offset > o.Size {
		os.Remove(part)
		offset = 0
	}
	resp, serverSHA, err := get(ctx, url, offset, o)
	if err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()

	h := sha256.New()
	flags, offset, complete, err := resumeFrom(resp, url, part, offset, h)
	if err != nil || complete {
		return hex.EncodeToString(h.Sum(nil)), serverSHA, err
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = offset + resp.ContentLength
	} else if o.Size > 0 {
		total = o.Size
	}
	if err := copyPart(resp.Body, part, flags, h, o.Progress, o.Label, offset, total); err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", url, err)
	}
	return hex.EncodeToString(h.Sum(nil)), serverSHA, nil
}

// get sends the GET (a Range request from offset when it is positive) and
// returns the response and the sha256 the server named in X-Linked-Etag
// (also on a redirect, as the Hub sends it) or ETag.
func get(ctx context.Context, url string, offset int64, o FetchOptions) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	base := o.Client
	if base == nil {
		base = defaultClient
	}
	client := *base
	var linked string
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.Response != nil {
			if s := etagSHA256(r.Response.Header.Get("X-Linked-Etag")); s != "" {
				linked = s
			}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if base.CheckRedirect != nil {
			return base.CheckRedirect(r, via)
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	if s := etagSHA256(resp.Header.Get("X-Linked-Etag")); s != "" {
		linked = s
	} else if linked == "" {
		linked = etagSHA256(resp.Header.Get("ETag"))
	}
	return resp, linked, nil
}

// resumeFrom reads the response status: it hashes the part file already
// there into h when the server resumes, and returns the open flags and
// offset for the body. complete is true when the part file was already
// whole (416 on a resume).
func resumeFrom(resp *http.Response, url, part string, offset int64, h hash.Hash) (flags int, from int64, complete bool, err error) {
	flags = os.O_CREATE | os.O_WRONLY
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			os.Remove(part)
			return 0, 0, false, fmt.Errorf("fetch %s: server resumed at %q, asked for byte %d", url, resp.Header.Get("Content-Range"), offset)
		}
		if err := hashFile(part, h); err != nil {
			return 0, 0, false, fmt.Errorf("fetch %s: %w", url, err)
		}
		return flags | os.O_APPEND, offset, false, nil
	case http.StatusOK:
		return flags | os.O_TRUNC, 0, false, nil
	case http.StatusRequestedRangeNotSatisfiable:
		// The partial file is as long as (or longer than) the resource:
		// check it as if it were complete.
		if offset > 0 {
			if err := hashFile(part, h); err != nil {
				return 0, 0, false, fmt.Errorf("fetch %s: %w", url, err)
			}
			return 0, 0, true, nil
		}
	}
	return 0, 0, false, &HTTPError{URL: url, StatusCode: resp.StatusCode, Status: resp.Status}
}

// copyPart writes body to part (opened with flags) and h, reporting
// progress, and checks that total bytes arrived when it is known.
func copyPart(body io.Reader, part string, flags int, h hash.Hash, report progress.Func, label string, offset, total int64) error {
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	c := &counter{report: report, e: progress.Event{Task: label, N: offset, Total: total, Verb: "downloading"}}
	c.send(progress.Start)
	_, cerr := io.Copy(io.MultiWriter(f, h, c), body)
	ferr := f.Close()
	if cerr != nil || ferr != nil {
		c.send(progress.Failed)
	} else {
		c.send(progress.Done)
	}
	if cerr != nil {
		return fmt.Errorf("interrupted: %w", cerr)
	}
	if ferr != nil {
		return ferr
	}
	if total >= 0 {
		if st, err := os.Stat(part); err == nil && st.Size() < total {
			return fmt.Errorf("connection closed at byte %d of %d", st.Size(), total)
		}
	}
	return nil
}

// counter reports the bytes written through it.
type counter struct {
	report progress.Func
	e      progress.Event
}

func (c *counter) Write(b []byte) (int, error) {
	c.e.N += int64(len(b))
	c.send(progress.Update)
	return len(b), nil
}

func (c *counter) send(s progress.State) {
	if c.report != nil {
		c.e.State = s
		c.report(c.e)
	}
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "bytes ") {
		return 0, false
	}
	v = strings.TrimPrefix(v, "bytes ")
	i := strings.IndexByte(v, '-')
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	return n, err == nil
}

func hashFile(path string, h hash.Hash) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	h := sha256.New()
	if err := hashFile(path, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteSidecar records sum (and the file's size) in path+".sha256".
func WriteSidecar(path, sum string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path+".sha256", fmt.Appendf(nil, "%s %d\n", sum, st.Size()), 0o644)
}

// ReadSidecar returns the sha256 and size recorded next to path; ok is false
// when there is no readable sidecar.
func ReadSidecar(path string) (sum string, size int64, ok bool) {
	b, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return "", 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 1 || !sha256Re.MatchString(strings.ToLower(f[0])) {
		return "", 0, false
	}
	size = -1
	if len(f) >= 2 {
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			size = n
		}
	}
	return strings.ToLower(f[0]), size, true
}
