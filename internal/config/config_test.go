package config

import (
	"flag"
	"github.com/cliprag/cliprag/embed"
	"os"
	"path/filepath"
	"testing"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "test.env")
	if err := os.WriteFile(envFile, []byte("CLIPRAG_MODEL=from-dotenv\nCLIPRAG_STORE=/dotenv/store\nCLIPRAG_THREADS=3\nCLIPRAG_DEVICE=cuda\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantModel string
		wantStore string
		wantThr   int
	}{
		{"dotenv only", []string{"-env-file", envFile}, nil, "from-dotenv", "/dotenv/store", 3},
		{"env beats dotenv", []string{"-env-file", envFile}, map[string]string{"CLIPRAG_MODEL": "from-env"}, "from-env", "/dotenv/store", 3},
		{"flag beats env", []string{"-env-file", envFile, "-model", "from-flag", "-threads", "1", "-offline"}, map[string]string{"CLIPRAG_MODEL": "from-env"}, "from-flag", "/dotenv/store", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			c := Flags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Resolve(fs); err != nil {
				t.Fatal(err)
			}
			if c.Model != tt.wantModel || c.Store != tt.wantStore || c.Threads != tt.wantThr || c.Device != "cuda" {
				t.Errorf("got model=%q store=%q threads=%d device=%q", c.Model, c.Store, c.Threads, c.Device)
			}
		})
	}
}

func TestDefaultsAndErrors(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env here
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := Flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Resolve(fs); err != nil {
		t.Fatal(err)
	}
	if c.Model != embed.DefaultModel || c.Device != "cpu" || c.Threads != 0 {
		t.Errorf("defaults: %+v", c)
	}
	for _, args := range [][]string{{"-device", "tpu"}, {"-threads", "-2"}, {"-env-file", "/nonexistent/.env"}} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		c := Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := c.Resolve(fs); err == nil {
			t.Errorf("%v: want error", args)
		}
	}
}

func TestBoolFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CLIPRAG_QUANTIZED", "true")
	t.Setenv("CLIPRAG_OFFLINE", "true")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := Flags(fs)
	if err := fs.Parse([]string{"-offline=false"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Resolve(fs); err != nil {
		t.Fatal(err)
	}
	if c.Offline || !c.Quantized {
		t.Errorf("offline=%v quantized=%v, want false (flag beats env) and true (env)", c.Offline, c.Quantized)
	}
	t.Setenv("CLIPRAG_OFFLINE", "maybe")
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	c = Flags(fs)
	_ = fs.Parse(nil)
	if err := c.Resolve(fs); err == nil {
		t.Error("CLIPRAG_OFFLINE=maybe: want an error")
	}
}
