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
)

// FetchOptions configures Fetch.
type FetchOptions struct {
	SHA256   string        // expected sha256 (hex); empty: the server's X-Linked-Etag/ETag when it is a sha256, else unchecked
	Size     int64         // expected size in bytes; 0: unknown
	Header   http.Header   // extra request headers (e.g. Authorization)
	Progress io.Writer     // progress output; nil for none
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
			expect := want
			if expect == "" {
				expect = serverSHA
			}
			if expect != "" && sum != expect {
				os.Remove(part)
				err = fmt.Errorf("fetch %s: %w: got %s, want %s", url, ErrHashMismatch, sum, expect)
				// A resumed file may have been spliced from two versions:
				// start once more from scratch.
				if !restarted {
					restarted = true
					last = err
					continue
				}
				return "", err
			}
			if o.Size > 0 {
				if st, serr := os.Stat(part); serr == nil && st.Size() != o.Size {
					os.Remove(part)
					return "", fmt.Errorf("fetch %s: size %d, want %d", url, st.Size(), o.Size)
				}
			}
			if err := os.Rename(part, dest); err != nil {
				return "", fmt.Errorf("fetch %s: %w", url, err)
			}
			return sum, nil
		}
		last = err
		if ctx.Err() != nil {
			return "", fmt.Errorf("fetch %s: %w", url, ctx.Err())
		}
		var he *HTTPError
		if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 &&
			he.StatusCode != http.StatusRequestTimeout && he.StatusCode != http.StatusTooManyRequests {
			return "", err // permanent
		}
	}
	return "", last
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

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", url, err)
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
		return "", "", fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	serverSHA = linked
	if s := etagSHA256(resp.Header.Get("X-Linked-Etag")); s != "" {
		serverSHA = s
	} else if serverSHA == "" {
		serverSHA = etagSHA256(resp.Header.Get("ETag"))
	}

	flags := os.O_CREATE | os.O_WRONLY
	h := sha256.New()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			os.Remove(part)
			return "", "", fmt.Errorf("fetch %s: server resumed at %q, asked for byte %d", url, resp.Header.Get("Content-Range"), offset)
		}
		if err := hashFile(part, h); err != nil {
			return "", "", fmt.Errorf("fetch %s: %w", url, err)
		}
		flags |= os.O_APPEND
	case http.StatusOK:
		offset = 0
		flags |= os.O_TRUNC
	case http.StatusRequestedRangeNotSatisfiable:
		// The partial file is as long as (or longer than) the resource:
		// check it as if it were complete.
		if offset > 0 {
			if err := hashFile(part, h); err != nil {
				return "", "", fmt.Errorf("fetch %s: %w", url, err)
			}
			return hex.EncodeToString(h.Sum(nil)), serverSHA, nil
		}
		fallthrough
	default:
		return "", "", &HTTPError{URL: url, StatusCode: resp.StatusCode, Status: resp.Status}
	}

	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = offset + resp.ContentLength
	} else if o.Size > 0 {
		total = o.Size
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", url, err)
	}
	p := newProgress(o.Progress, o.Label, offset, total)
	_, cerr := io.Copy(io.MultiWriter(f, h, p), resp.Body)
	ferr := f.Close()
	p.done(cerr == nil && ferr == nil)
	if cerr != nil {
		return "", "", fmt.Errorf("fetch %s: interrupted: %w", url, cerr)
	}
	if ferr != nil {
		return "", "", fmt.Errorf("fetch %s: %w", url, ferr)
	}
	if total >= 0 {
		if st, err := os.Stat(part); err == nil && st.Size() < total {
			return "", "", fmt.Errorf("fetch %s: connection closed at byte %d of %d", url, st.Size(), total)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), serverSHA, nil
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
