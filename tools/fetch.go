package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// httpClient returns a client whose dialer vets the address it actually
// connects to (after DNS), so a name that resolves, or later re-resolves, to
// a private address is refused.
func (s *Service) httpClient() *http.Client {
	check := s.checkAddr
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if err := check(ap.Addr()); err != nil {
				return &refusedError{err}
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, unchecked
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: s.opts.URLTimeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	max := s.opts.MaxRedirects
	return &http.Client{
		Transport: tr,
		Timeout:   s.opts.URLTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("more than %d redirects", max)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s URL refused", req.URL.Scheme)
			}
			return nil
		},
	}
}

// refusedError marks a dial refused by the address check.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return "refused: " + e.err.Error() }

// fetchURL downloads an image when URLs are allowed, within the size and
// time limits.
func (s *Service) fetchURL(ctx context.Context, raw string) ([]byte, error) {
	if !s.opts.AllowURLs {
		return nil, inputErr("", "URL images are disabled on this server (start it with --allow-urls); pass the image as data_uri instead")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, inputErr("", "bad URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, inputErr("", "only http and https URLs are fetched, not %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, inputErr("", "URL %q has no host", raw)
	}
	if u.User != nil {
		return nil, inputErr("", "URLs with credentials are refused")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.URLTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, inputErr("", "bad URL: %v", err)
	}
	req.Header.Set("Accept", "image/*")
	req.Header.Set("User-Agent", "cliprag")
	client := s.httpClient()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		var re *refusedError
		if errors.As(err, &re) {
			return nil, inputErr("", "fetching %s refused: %v; only public addresses are fetched", redact(u), re.err)
		}
		return nil, inputErr("", "fetch %s: %v", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, inputErr("", "fetch %s: HTTP %s", redact(u), resp.Status)
	}
	max := s.opts.MaxURLBytes
	if resp.ContentLength > max {
		return nil, inputErr("", "%s is %d bytes; at most %d are fetched", redact(u), resp.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, inputErr("", "fetch %s: %v", redact(u), err)
	}
	if int64(len(data)) > max {
		return nil, inputErr("", "%s is larger than %d bytes", redact(u), max)
	}
	return data, nil
}

// redact drops the query string from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment = "", ""
	return strings.TrimSuffix(c.String(), "?")
}
