package config

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// TestEnvReachesDownloads checks that the environment variables the
// libraries no longer read themselves reach them through Config:
// HF_ENDPOINT, HF_TOKEN and CLIPRAG_CACHE decide where a registry model is
// downloaded from, with which token and into which folder; CLIPRAG_ORT_URL
// and NPM_CONFIG_REGISTRY (or npm_config_registry) where ONNX Runtime would
// be fetched from.
func TestEnvReachesDownloads(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env
	const repo, rev, token = "cliprag-test/env", "0123456789abcdef0123456789abcdef01234567", "hf_env_secret"
	var authorized, refused atomic.Int64
	prefix := "/" + repo + "/resolve/" + rev + "/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.NotFound(w, r) // ONNX Runtime's archive and tarball: not served
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			refused.Add(1)
			http.Error(w, "token needed", http.StatusUnauthorized)
			return
		}
		b, err := fs.ReadFile(tinyshapes.FS, path.Clean(strings.TrimPrefix(r.URL.Path, prefix)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		authorized.Add(1)
		http.ServeContent(w, r, path.Base(r.URL.Path), time.Time{}, strings.NewReader(string(b)))
	}))
	t.Cleanup(srv.Close)
	entry := embed.RegistryEntry{Name: "test-env-remote", Repo: repo, Revision: rev,
		Files:  []string{"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"},
		Vision: "onnx/vision_model.onnx", Text: "onnx/text_model.onnx"}
	if err := embed.Register(entry); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for k, v := range map[string]string{
		"CLIPRAG_MODEL": entry.Name, "CLIPRAG_CACHE": cache, "HF_ENDPOINT": srv.URL, "HF_TOKEN": token,
		"CLIPRAG_ORT_URL": srv.URL + "/ort", "npm_config_registry": srv.URL + "/npm", "CLIPRAG_OFFLINE": "false",
	} {
		t.Setenv(k, v)
	}
	if _, ok := os.LookupEnv("NPM_CONFIG_REGISTRY"); ok {
		t.Setenv("NPM_CONFIG_REGISTRY", srv.URL+"/npm")
	}
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.HFEndpoint != srv.URL || c.HFToken != token || c.CacheDir != cache || c.ORTReleaseURL != srv.URL+"/ort" || c.NPMRegistry != srv.URL+"/npm" {
		t.Fatalf("config from the environment: %+v", c)
	}
	m, err := c.OpenModel(context.Background(), nil)
	if err == nil {
		defer m.Close()
	} else if !strings.Contains(err.Error(), "ONNX Runtime") {
		t.Fatalf("OpenModel: %v", err) // only a missing runtime may fail it here
	}
	if authorized.Load() == 0 || refused.Load() != 0 {
		t.Errorf("the hub saw %d requests with the token and %d without", authorized.Load(), refused.Load())
	}
	if _, err := os.Stat(filepath.Join(hub.ModelDir(cache, repo, rev), "onnx", "text_model.onnx")); err != nil {
		t.Errorf("model not downloaded into CLIPRAG_CACHE: %v", err)
	}
}
