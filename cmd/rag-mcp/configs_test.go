package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/tools"
)

// clientConfig is one MCP client's configuration of a stdio server.
type clientConfig struct {
	Type    string            `json:"type"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// TestClientConfigs parses each configuration snippet in examples/mcp and
// launches the real binary with its args and env, with the snippet's home
// folder standing for a real one holding an index and pictures: the
// server must answer with those pictures as its roots.
func TestClientConfigs(t *testing.T) {
	bin, store, images := setup(t)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".local/share/cliprag"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(store, filepath.Join(home, ".local/share/cliprag/index")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(images, filepath.Join(home, "Pictures")); err != nil {
		t.Fatal(err)
	}
	// How each client spells the home folder.
	expand := strings.NewReplacer("/home/you", home, "${HOME}", home, "$HOME", home, "${userHome}", home)
	for _, tc := range []struct{ file, key string }{
		{"claude_desktop_config.json", "mcpServers"},
		{"claude_code.mcp.json", "mcpServers"},
		{"cursor.mcp.json", "mcpServers"},
		{"vscode.mcp.json", "servers"},
		{"gemini.settings.json", "mcpServers"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../../examples/mcp", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]map[string]clientConfig
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("%s does not parse: %v", tc.file, err)
			}
			c, ok := doc[tc.key]["cliprag"]
			if !ok {
				t.Fatalf("%s has no %s.cliprag", tc.file, tc.key)
			}
			if c.Command != "rag-mcp" || (c.Type != "" && c.Type != "stdio") {
				t.Fatalf("%s launches %q (%s), want rag-mcp over stdio", tc.file, c.Command, c.Type)
			}
			args := make([]string, len(c.Args))
			for i, a := range c.Args {
				args[i] = expand.Replace(a)
			}
			var env []string
			for k, v := range c.Env {
				env = append(env, k+"="+expand.Replace(v))
			}
			res := rpc(t, bin, args, env, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"index_stats","arguments":{}}}`)
			var stats struct {
				StructuredContent tools.StatsOutput `json:"structuredContent"`
			}
			if err := json.Unmarshal(res["1"], &stats); err != nil || stats.StructuredContent.Images == 0 {
				t.Fatalf("index_stats %s: %v", res["1"], err)
			}
			if r := stats.StructuredContent.Roots; len(r) != 1 || r[0] != images {
				t.Errorf("roots %v, want the snippet's Pictures (%s)", r, images)
			}
		})
	}
}

// TestServerJSON checks server.json, the MCP registry entry, against the
// registry's rules that can be checked offline, and that every variable it
// documents is one rag-mcp reads.
func TestServerJSON(t *testing.T) {
	data, err := os.ReadFile("../../server.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Schema      string `json:"$schema"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Version     string `json:"version"`
		Repository  struct{ URL, Source string }
		Packages    []struct {
			RegistryType string `json:"registryType"`
			Identifier   string `json:"identifier"`
			Version      string `json:"version"`
			Transport    struct {
				Type string `json:"type"`
			} `json:"transport"`
			PackageArguments []struct {
				Type, Name string
			} `json:"packageArguments"`
			EnvironmentVariables []struct {
				Name, Description, Format string
			} `json:"environmentVariables"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$`).MatchString(s.Name) || !strings.HasPrefix(s.Name, "io.github.cliprag/") {
		t.Errorf("name %q", s.Name)
	}
	if n := len(s.Description); n == 0 || n > 100 {
		t.Errorf("description is %d characters; the registry takes 1 to 100", n)
	}
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	if !semver.MatchString(s.Version) || !strings.Contains(s.Schema, "/schemas/") || s.Repository.Source != "github" {
		t.Errorf("version %q, $schema %q, repository %+v", s.Version, s.Schema, s.Repository)
	}
	help, _ := exec.Command("go", "run", ".", "-h").CombinedOutput()
	if len(s.Packages) != 1 {
		t.Fatalf("%d packages", len(s.Packages))
	}
	p := s.Packages[0]
	if p.RegistryType != "mcpb" || !strings.HasPrefix(p.Identifier, "https://github.com/cliprag/cliprag/releases/download/v"+p.Version+"/") ||
		p.Version != s.Version || p.Transport.Type != "stdio" {
		t.Errorf("package %+v", p)
	}
	for _, a := range p.PackageArguments {
		if !strings.Contains(string(help), "-"+strings.TrimLeft(a.Name, "-")+" ") && !strings.Contains(string(help), "-"+strings.TrimLeft(a.Name, "-")+"\n") {
			t.Errorf("argument %s is not a flag of rag-mcp", a.Name)
		}
	}
	for _, e := range p.EnvironmentVariables {
		if !strings.Contains(string(help), "$"+e.Name) || e.Description == "" {
			t.Errorf("variable %s: not in rag-mcp -h, or not described", e.Name)
		}
	}
}
