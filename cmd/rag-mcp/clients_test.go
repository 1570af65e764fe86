package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// The real clients are installed into .cache/mcp-clients by
// scripts/mcp-clients.sh (scripts/test.sh runs it): the TypeScript SDK
// (current and 1.12.0, run by the node on PATH) and the MCP Inspector with
// the Node 22 it needs. Without them these tests skip, except under CI=true.

// clientsDir returns the install folder of scripts/mcp-clients.sh, or
// skips (fails in CI) when what is named is not there.
func clientsDir(t *testing.T, need ...string) string {
	t.Helper()
	dir := os.Getenv("CLIPRAG_MCP_CLIENTS")
	if dir == "" {
		dir, _ = filepath.Abs("../../.cache/mcp-clients")
	}
	for _, n := range need {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			msg := fmt.Sprintf("%s not installed in %s (run scripts/mcp-clients.sh)", n, dir)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// sdks lists the installed SDK versions (folders sdk-<version>).
func sdks(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "sdk-*"))
	sort.Strings(m)
	if len(m) < 2 && os.Getenv("CI") == "true" {
		t.Fatalf("want the current SDK and 1.12.0 in %s, have %v", dir, m)
	}
	return m
}

func nodeBin(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH")
		}
		t.Skip("node is not on PATH")
	}
	return node
}

// newImages draws one image into a new folder under root, for the client
// to ingest.
func newImages(t *testing.T, root string, seed int64) string {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprintf("new-%d", seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img := tinyshapes.Draw(rand.New(rand.NewSource(seed)), "purple", "cross", tinyshapes.DrawOptions{})
	if err := tinyshapes.WriteFile(filepath.Join(dir, "purple-cross.png"), img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTypeScriptSDK drives the real binary over stdio and streamable HTTP
// with every installed version of the official TypeScript SDK.
func TestTypeScriptSDK(t *testing.T) {
	dir := clientsDir(t, "sdk-1.12.0")
	node := nodeBin(t)
	bin, store, images := setup(t)
	script, _ := filepath.Abs("testdata/sdk_client.mjs")
	args := []string{"--model", toolstest.ModelRef(), "--store", store, "--allow-ingest"}
	seed := int64(100)
	for _, sdk := range sdks(t, dir) {
		for _, mode := range []string{"stdio", "http"} {
			t.Run(filepath.Base(sdk)+"/"+mode, func(t *testing.T) {
				seed++
				newDir := newImages(t, images, seed)
				cargs := []string{script, sdk, mode, images, newDir}
				if mode == "stdio" {
					cargs = append(append(cargs, "--", bin), args...)
				} else {
					url := startHTTP(t, bin, append(args, "--http", "127.0.0.1:0", "--token", "tok-sdk"))
					cargs = append(cargs, url, "tok-sdk")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, cargs...)
				cmd.Env = append(env(), "CLIPRAG_QUIET=true")
				cmd.Dir = t.TempDir()
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", filepath.Base(sdk), err, out)
				}
				t.Logf("%s", lastLine(string(out)))
			})
		}
	}
}

// startHTTP starts the binary with --http and returns its endpoint URL.
func startHTTP(t *testing.T, bin string, args []string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env()
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	urlc := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "url="); i >= 0 && strings.Contains(line, "listening") {
				urlc <- strings.Fields(line[i+4:])[0]
			}
		}
		cmd.Wait()
	}()
	select {
	case url := <-urlc:
		return url
	case <-done:
		t.Fatal("server exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start")
	}
	return ""
}

// TestInspectorStrict runs the MCP Inspector's CLI in strict mode over
// tools/list: no schema portability warning or error.
func TestInspectorStrict(t *testing.T) {
	dir := clientsDir(t, "node22/node_modules/.bin/node", "inspector/node_modules/@modelcontextprotocol/inspector")
	bin, store, _ := setup(t)
	node := filepath.Join(dir, "node22/node_modules/.bin/node")
	cli := filepath.Join(dir, "inspector/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js")
	for _, extra := range [][]string{nil, {"--allow-ingest", "--allow-urls"}} {
		cargs := []string{cli, "--cli", "--method", "tools/list", "--strict"}
		for _, e := range env() {
			cargs = append(cargs, "-e", e)
		}
		cargs = append(append(cargs, bin, "--model", toolstest.ModelRef(), "--store", store, "--quiet"), extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, node, cargs...)
		cmd.Dir = t.TempDir()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("inspector %v: %v\n%s", extra, err, stderr.String())
		}
		if strings.Contains(stderr.String(), "Warning") || strings.Contains(stderr.String(), "Error") || strings.Contains(stderr.String(), "portability") {
			t.Errorf("inspector --strict %v reports:\n%s", extra, stderr.String())
		}
		var list struct {
			Tools []struct{ Name string } `json:"tools"`
		}
		if err := json.Unmarshal([]byte(stdout.String()), &list); err != nil || len(list.Tools) < 5 {
			t.Errorf("tools/list output %q: %v", stdout.String(), err)
		}
		t.Logf("inspector --strict %v: %d tools, 0 warnings", extra, len(list.Tools))
	}
}
