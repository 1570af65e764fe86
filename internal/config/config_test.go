package config

import (
	"flag"
	"fmt"
	"github.com/cliprag/cliprag/embed"
	"os"
	"path/filepath"
	"strings"
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

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// TestEnvBindings: a front end's own flags take their environment
// variables (then .env), and the command line beats both.
func TestEnvBindings(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "test.env")
	if err := os.WriteFile(envFile, []byte("CLIPRAG_X_TOKEN=from-dotenv\nCLIPRAG_X_N=7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		token string
		on    bool
		n     int
		roots []string
		err   string
	}{
		{"defaults", nil, nil, "", false, 1, nil, ""},
		{"environment", nil, map[string]string{"CLIPRAG_X_ON": "true", "CLIPRAG_X_ROOTS": "/a" + string(os.PathListSeparator) + "/b", "CLIPRAG_X_TOKEN": "env"}, "env", true, 1, []string{"/a", "/b"}, ""},
		{"dotenv", []string{"-env-file", envFile}, nil, "from-dotenv", false, 7, nil, ""},
		{"env beats dotenv", []string{"-env-file", envFile}, map[string]string{"CLIPRAG_X_N": "9"}, "from-dotenv", false, 9, nil, ""},
		{"flag beats env", []string{"-n", "2", "-root", "/c", "-on=false"}, map[string]string{"CLIPRAG_X_N": "9", "CLIPRAG_X_ROOTS": "/a", "CLIPRAG_X_ON": "true"}, "", false, 2, []string{"/c"}, ""},
		{"bad value", nil, map[string]string{"CLIPRAG_X_N": "many"}, "", false, 1, nil, "CLIPRAG_X_N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			c := Flags(fs)
			token := fs.String("token", "", "a token")
			on := fs.Bool("on", false, "a switch")
			n := fs.Int("n", 1, "a number")
			var roots listFlag
			fs.Var(&roots, "root", "a folder")
			c.Env(fs, "token", "CLIPRAG_X_TOKEN")
			c.Env(fs, "on", "CLIPRAG_X_ON")
			c.Env(fs, "n", "CLIPRAG_X_N")
			c.EnvList(fs, "root", "CLIPRAG_X_ROOTS")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Resolve(fs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *token != tt.token || *on != tt.on || *n != tt.n || fmt.Sprint([]string(roots)) != fmt.Sprint(tt.roots) {
				t.Errorf("token %q on %v n %d roots %v; want %q %v %d %v", *token, *on, *n, roots, tt.token, tt.on, tt.n, tt.roots)
			}
			if !strings.Contains(fs.Lookup("root").Usage, "$CLIPRAG_X_ROOTS") {
				t.Errorf("usage %q does not name the variable", fs.Lookup("root").Usage)
			}
		})
	}
}
