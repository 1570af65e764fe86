package httpguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echo answers 200 with the length of the body it read.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	fmt.Fprintf(w, "%d", len(b))
})

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(echo, Options{Token: "s3cret", MaxBodyBytes: 100}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name    string
		host    string
		headers map[string]string
		body    string
		chunked bool
		want    int
	}{
		{"no token", "", nil, "{}", false, 401},
		{"wrong token", "", map[string]string{"Authorization": "Bearer nope"}, "{}", false, 401},
		{"no scheme", "", map[string]string{"Authorization": "s3cret"}, "{}", false, 401},
		{"basic scheme", "", map[string]string{"Authorization": "Basic s3cret"}, "{}", false, 401},
		{"bearer", "", map[string]string{"Authorization": "Bearer s3cret"}, "{}", false, 200},
		{"bearer lower case", "", map[string]string{"Authorization": "bearer s3cret"}, "{}", false, 200},
		{"bearer upper case", "", map[string]string{"Authorization": "BEARER  s3cret "}, "{}", false, 200},
		{"too large, no token", "", nil, strings.Repeat("x", 101), false, 413},
		{"too large, chunked", "", map[string]string{"Authorization": "Bearer s3cret"}, strings.Repeat("x", 500), true, 413},
		{"chunked, no token", "", nil, strings.Repeat("x", 500), true, 401},
		{"at the limit", "", map[string]string{"Authorization": "Bearer s3cret"}, strings.Repeat("x", 100), false, 200},
		{"foreign origin", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "https://evil.example"}, "{}", false, 403},
		{"null origin", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "null"}, "{}", false, 403},
		{"same origin", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": fmt.Sprintf("http://127.0.0.1:%d", port)}, "{}", false, 200},
		{"same host, other port", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "http://127.0.0.1:1"}, "{}", false, 403},
		{"rebinding host", "evil.example", map[string]string{"Authorization": "Bearer s3cret"}, "{}", false, 403},
		{"localhost host", fmt.Sprintf("localhost:%d", port), map[string]string{"Authorization": "Bearer s3cret"}, "{}", false, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(strings.NewReader(tc.body)) // unknown length: sent chunked
			}
			req, _ := http.NewRequest("POST", srv.URL, body)
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("HTTP %d (%s), want %d", resp.StatusCode, b, tc.want)
			}
			if tc.want == 200 && string(b) != fmt.Sprint(len(tc.body)) {
				t.Errorf("handler read %s bytes, want %d", b, len(tc.body))
			}
			if tc.want == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
		})
	}
}

// TestBodyLimitBeforeAuth: a huge declared body without a token is refused
// before a byte of it is read.
func TestBodyLimitBeforeAuth(t *testing.T) {
	srv := httptest.NewServer(Handler(echo, Options{Token: "t", MaxBodyBytes: 1 << 20}))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", int64(300<<20))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(newReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d, want 413 before reading a 300 MB body", resp.StatusCode)
	}
}

func TestListen(t *testing.T) {
	for addr, loop := range map[string]bool{"127.0.0.1:8765": true, "localhost:1": true, "[::1]:80": true, ":8765": false,
		"0.0.0.0:80": false, "192.168.1.5:80": false, "example.com:80": false, "127.0.0.1": true} {
		if IsLoopbackAddr(addr) != loop {
			t.Errorf("IsLoopbackAddr(%q) = %v", addr, !loop)
		}
		err := CheckListen(addr, "")
		if (err == nil) != loop || (err != nil && !errors.Is(err, ErrTokenRequired)) {
			t.Errorf("CheckListen(%q, no token) = %v", addr, err)
		}
		if err := CheckListen(addr, "tok"); err != nil {
			t.Errorf("CheckListen(%q, token) = %v", addr, err)
		}
	}
}

// TestTimeouts: a client that trickles its body is cut off by the read
// timeout, while a handler that runs longer than it is not.
func TestTimeouts(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprint(w, "done")
	})
	hs := NewServer(Handler(slow, Options{}), Timeouts{Read: 500 * time.Millisecond, ReadHeader: 500 * time.Millisecond, Idle: time.Second}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	url := "http://" + ln.Addr().String()

	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("a handler longer than the read timeout: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "done" {
		t.Errorf("long handler answered %q", b)
	}

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err = http.ReadResponse(newReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("a trickled body was served")
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a trickling client held the connection %s", el)
	}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
