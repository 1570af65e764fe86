// Package qdranttest gives tests a real Qdrant server: either the shared one
// named by CLIPRAG_QDRANT_ADDR, or a private process started from the binary
// named by CLIPRAG_QDRANT_BIN. Both come from `scripts/qdrant.sh start`:
//
//	set -a; eval "$(scripts/qdrant.sh start)"; set +a
//	go test ./retriever/qdrant/...
//	scripts/qdrant.sh stop
//
// Without the variables the tests skip, saying how to start Qdrant; under
// CI=true they fail instead.
package qdranttest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever/qdrant"
)

// Environment variables the helpers read.
const (
	EnvAddr = "CLIPRAG_QDRANT_ADDR" // host:port of a running Qdrant's gRPC endpoint
	EnvBin  = "CLIPRAG_QDRANT_BIN"  // path to a qdrant binary
)

const howTo = "start one with: set -a; eval \"$(scripts/qdrant.sh start)\"; set +a (from the repository root)"

// unavailable skips t, or fails it under CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this is a failure)", msg)
	}
	t.Skip(msg)
}

// Addr returns CLIPRAG_QDRANT_ADDR, skipping t when it is unset (failing
// under CI=true).
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		unavailable(t, "%s is not set, so there is no Qdrant to test against; %s", EnvAddr, howTo)
	}
	return addr
}

// Config returns a qdrant.Config for addr ("host:port") with a fresh,
// unique collection name derived from the test's name.
func Config(t testing.TB, addr string) qdrant.Config {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s=%q: want host:port: %v", EnvAddr, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("%s=%q: bad port: %v", EnvAddr, addr, err)
	}
	return qdrant.Config{Host: host, Port: port, Collection: CollectionName(t)}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// CollectionName returns a collection name unique to this test run:
// "cliprag_test_<test name>_<random hex>".
func CollectionName(t testing.TB) string {
	name := strings.Trim(unsafeChars.ReplaceAllString(t.Name(), "_"), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random collection suffix: %v", err)
	}
	return "cliprag_test_" + name + "_" + hex.EncodeToString(b[:])
}

// Open opens a store on the Qdrant at CLIPRAG_QDRANT_ADDR with its own
// collection, which t.Cleanup drops (over a connection of its own, so the
// caller may close the store first). The caller closes the store.
func Open(t testing.TB) *qdrant.Store {
	t.Helper()
	return OpenConfig(t, Config(t, Addr(t)))
}

// OpenConfig opens a store for cfg and drops cfg.Collection in t.Cleanup.
func OpenConfig(t testing.TB, cfg qdrant.Config) *qdrant.Store {
	t.Helper()
	s, err := qdrant.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Drop(t, cfg) })
	return s
}

// Drop deletes cfg.Collection, reporting a failure through t.
func Drop(t testing.TB, cfg qdrant.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := qdrant.Open(ctx, cfg)
	if err != nil {
		t.Errorf("drop collection %s: %v", cfg.Collection, err)
		return
	}
	defer s.Close()
	if err := s.Drop(ctx); err != nil {
		t.Errorf("drop collection %s: %v", cfg.Collection, err)
	}
}

// Server is a Qdrant process owned by one test, bound to 127.0.0.1 on free
// ports, with its storage in the test's temporary directory.
type Server struct {
	Bin      string // the qdrant binary
	Dir      string // storage and snapshots live here
	HTTPPort int
	GRPCPort int

	t      testing.TB
	cmd    *exec.Cmd
	waitCh chan error // receives cmd.Wait's result
	log    *os.File
	env    []string
}

// StartServer starts a private Qdrant from CLIPRAG_QDRANT_BIN, skipping t
// when it is unset (failing under CI=true), and stops it in t.Cleanup. env
// adds QDRANT__... settings ("QDRANT__SERVICE__API_KEY=k"); with
// "QDRANT__SERVICE__ENABLE_TLS=true" the readiness probe uses HTTPS.
func StartServer(t testing.TB, env ...string) *Server {
	t.Helper()
	bin := os.Getenv(EnvBin)
	if bin == "" {
		unavailable(t, "%s is not set, so this test cannot run its own Qdrant; %s", EnvBin, howTo)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", EnvBin, err)
	}
	s := &Server{Bin: bin, Dir: t.TempDir(), HTTPPort: freePort(t), GRPCPort: freePort(t), t: t, env: env}
	for s.GRPCPort == s.HTTPPort {
		s.GRPCPort = freePort(t)
	}
	log, err := os.Create(filepath.Join(s.Dir, "qdrant.log"))
	if err != nil {
		t.Fatalf("qdrant log: %v", err)
	}
	s.log = log
	t.Cleanup(func() {
		s.Stop(syscall.SIGKILL)
		log.Close()
		if t.Failed() {
			if b, err := os.ReadFile(log.Name()); err == nil {
				t.Logf("qdrant log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Addr returns the gRPC address, "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.GRPCPort)) }

// Config returns a qdrant.Config for this server with a fresh collection name.
func (s *Server) Config(t testing.TB) qdrant.Config {
	t.Helper()
	return qdrant.Config{Host: "127.0.0.1", Port: s.GRPCPort, Collection: CollectionName(t)}
}

// Start starts the server on its ports and storage (again, after Stop) and
// waits until /readyz answers.
func (s *Server) Start() error {
	if s.cmd != nil {
		return fmt.Errorf("qdrant already running (pid %d)", s.cmd.Process.Pid)
	}
	cmd := exec.Command(s.Bin)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(),
		"QDRANT__SERVICE__HOST=127.0.0.1",
		"QDRANT__SERVICE__HTTP_PORT="+strconv.Itoa(s.HTTPPort),
		"QDRANT__SERVICE__GRPC_PORT="+strconv.Itoa(s.GRPCPort),
		"QDRANT__STORAGE__STORAGE_PATH="+filepath.Join(s.Dir, "storage"),
		"QDRANT__STORAGE__SNAPSHOTS_PATH="+filepath.Join(s.Dir, "snapshots"),
		"QDRANT__TELEMETRY_DISABLED=true",
	)
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	s.waitCh = exited
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", s.HTTPPort)
	client := &http.Client{Timeout: time.Second}
	if slices.Contains(s.env, "QDRANT__SERVICE__ENABLE_TLS=true") {
		url = "https" + strings.TrimPrefix(url, "http")
		// Only asks whether the local test server is up; the code under
		// test verifies certificates.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("qdrant exited during start-up: %v (log %s)", err, s.log.Name())
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qdrant not ready at %s after 60 s (log %s)", url, s.log.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends sig (syscall.SIGTERM or SIGKILL) to the server and waits for
// it to exit, up to 30 s, then kills it. Stopping a stopped server is a
// no-op.
func (s *Server) Stop(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.waitCh:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.waitCh
	}
	s.cmd = nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
