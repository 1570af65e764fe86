// Package config is cliprag's composition root: it gathers the settings from
// flags, the environment and a .env file, in that order of precedence, and
// wires the concrete pieces they name together (the ONNX Runtime model, the
// embedded or Qdrant store). It is the only place that reads cliprag's
// environment variables. Only commands (rag-ingest, rag-search, rag-mcp) and
// the examples import it, so the library packages (tools, mcp, the
// langchaingo adapter) stay free of backend imports and a setting means the
// same thing in every command.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/joho/godotenv"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever/stores"
)

// Config holds the settings shared by every cliprag front end.
type Config struct {
	Model        string // registry name or model directory
	Store        string // directory (embedded store) or qdrant://host:port/collection
	CacheDir     string // downloads (models, ONNX Runtime); empty: OS cache dir + cliprag
	Device       string // "cpu" or "cuda"
	Threads      int    // inference threads; 0: number of CPUs
	Quantized    bool   // prefer quantized ONNX files when the model has them
	ORTLib       string // ONNX Runtime shared library; empty: search and download
	Offline      bool   // never touch the network
	QdrantAPIKey string // API key for Qdrant
	EnvFile      string // the .env file read; empty: ./.env if present

	// Read from the environment (or .env) only, with no flag.
	HFEndpoint    string // $HF_ENDPOINT: Hugging Face mirror; empty: huggingface.co
	HFToken       string // $HF_TOKEN: Hugging Face access token
	ORTReleaseURL string // $CLIPRAG_ORT_URL: mirror of ONNX Runtime's release archives
	NPMRegistry   string // $NPM_CONFIG_REGISTRY or $npm_config_registry: npm registry for onnxruntime-node

	// ReadOnly is set by front ends that only search (not a user setting).
	ReadOnly bool

	modelGiven bool // Model came from a flag, the environment or .env, not the default

	bound []binding // front ends' own flags with environment variables
}

// binding ties a front end's flag to an environment variable.
type binding struct {
	flag, env string
	list      bool // the value is a list: split on the OS path list separator
}

// setting describes one configurable value.
type setting struct {
	flag, env, usage string
	def              string
	set              func(c *Config, v string) error
	isBool           bool
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func boolean(name string, p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", name, v)
		}
		*p(c) = b
		return nil
	}
}

var settings = []setting{
	{"model", "CLIPRAG_MODEL", "model: a registry name (" + registryNames() + ") or a model directory; default: the model the index was built with, else " + embed.DefaultModel, embed.DefaultModel,
		str(func(c *Config) *string { return &c.Model }), false},
	{"store", "CLIPRAG_STORE", "index: a directory (embedded store) or qdrant://host:6334/collection (default " + stores.DefaultDir() + ")", "",
		str(func(c *Config) *string { return &c.Store }), false},
	{"cache-dir", "CLIPRAG_CACHE", "cache for downloaded models and ONNX Runtime (default: the OS cache dir + cliprag)", "",
		str(func(c *Config) *string { return &c.CacheDir }), false},
	{"device", "CLIPRAG_DEVICE", "inference device: cpu or cuda (falls back to cpu, saying so)", "cpu",
		func(c *Config, v string) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if v != "cpu" && v != "cuda" {
				return fmt.Errorf("device: %q is not cpu or cuda", v)
			}
			c.Device = v
			return nil
		}, false},
	{"threads", "CLIPRAG_THREADS", "inference threads (0: all cores)", "0",
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("threads: %q is not a non-negative integer", v)
			}
			c.Threads = n
			return nil
		}, false},
	{"quantized", "CLIPRAG_QUANTIZED", "use the model's quantized ONNX files when it has them", "false",
		boolean("quantized", func(c *Config) *bool { return &c.Quantized }), true},
	{"onnxruntime-lib", "ONNXRUNTIME_LIB", "path of the ONNX Runtime shared library (default: search, then download into the cache)", "",
		str(func(c *Config) *string { return &c.ORTLib }), false},
	{"offline", "CLIPRAG_OFFLINE", "never download models or libraries", "false",
		boolean("offline", func(c *Config) *bool { return &c.Offline }), true},
	{"qdrant-api-key", "QDRANT_API_KEY", "API key for a Qdrant store", "",
		str(func(c *Config) *string { return &c.QdrantAPIKey }), false},
}

// registryNames lists the registry's model names for the -model flag's help.
func registryNames() string {
	var names []string
	for _, e := range embed.Models() {
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}

// envOnly are settings with no flag: the first of envs found in the
// environment, else in the .env file, sets the value.
var envOnly = []struct {
	envs []string
	set  func(c *Config, v string)
}{
	{[]string{"HF_ENDPOINT"}, func(c *Config, v string) { c.HFEndpoint = v }},
	{[]string{"HF_TOKEN"}, func(c *Config, v string) { c.HFToken = v }},
	{[]string{"CLIPRAG_ORT_URL"}, func(c *Config, v string) { c.ORTReleaseURL = v }},
	{[]string{"NPM_CONFIG_REGISTRY", "npm_config_registry"}, func(c *Config, v string) { c.NPMRegistry = v }},
}

// Flags registers the shared settings on fs and returns the Config they fill.
// Call Resolve after fs.Parse.
func Flags(fs *flag.FlagSet) *Config {
	c := &Config{}
	for _, s := range settings {
		if s.isBool {
			fs.Bool(s.flag, false, s.usage+envNote(s))
			continue
		}
		fs.String(s.flag, "", s.usage+envNote(s))
	}
	fs.String("env-file", "", "read settings from this .env file (default: ./.env when present)")
	return c
}

func envNote(s setting) string {
	n := " [$" + s.env
	if s.def != "" && s.def != "0" && s.def != "false" {
		n += ", default " + s.def
	}
	return n + "]"
}

// Resolve fills c from fs (flags explicitly set), then the process
// environment, then the .env file, then defaults. A flag beats the
// environment, which beats .env.
func (c *Config) Resolve(fs *flag.FlagSet) error {
	explicit := map[string]string{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = f.Value.String() })
	c.EnvFile = explicit["env-file"]
	dotenv, err := readDotenv(c.EnvFile)
	if err != nil {
		return err
	}
	if c.EnvFile == "" && dotenv != nil {
		c.EnvFile = ".env"
	}
	for _, s := range settings {
		v, ok := explicit[s.flag]
		if !ok {
			v, ok = os.LookupEnv(s.env)
		}
		if !ok {
			v, ok = dotenv[s.env]
		}
		if s.flag == "model" {
			ok = ok && strings.TrimSpace(v) != "" // an empty CLIPRAG_MODEL= is no choice
			c.modelGiven = ok
		}
		if !ok {
			v = s.def
		}
		if err := s.set(c, v); err != nil {
			return err
		}
	}
	for _, s := range envOnly {
		if v, ok := lookup(s.envs, dotenv); ok {
			s.set(c, v)
		}
	}
	return c.resolveBound(fs, explicit, dotenv)
}

// Env binds a flag the front end defined on fs to the environment variable
// env: Resolve sets the flag from the environment, then the .env file,
// when the command line did not set it, so that every flag of a command can
// come from its MCP client's or service's environment. The variable is
// added to the flag's usage.
func (c *Config) Env(fs *flag.FlagSet, name, env string) {
	c.bind(fs, binding{flag: name, env: env})
}

// EnvList is Env for a repeatable flag: the variable holds a list
// separated by the OS path list separator (":" on Unix), each element set
// as if the flag were given once per element.
func (c *Config) EnvList(fs *flag.FlagSet, name, env string) {
	c.bind(fs, binding{flag: name, env: env, list: true})
}

func (c *Config) bind(fs *flag.FlagSet, b binding) {
	f := fs.Lookup(b.flag)
	if f == nil {
		panic("config: no flag -" + b.flag + " to bind to $" + b.env)
	}
	f.Usage += " [$" + b.env + "]"
	c.bound = append(c.bound, b)
}

// resolveBound sets the bound flags that the command line did not set.
func (c *Config) resolveBound(fs *flag.FlagSet, explicit map[string]string, dotenv map[string]string) error {
	for _, b := range c.bound {
		if _, ok := explicit[b.flag]; ok {
			continue
		}
		v, ok := os.LookupEnv(b.env)
		if !ok {
			v, ok = dotenv[b.env]
		}
		if !ok {
			continue
		}
		vals := []string{v}
		if b.list {
			vals = filepath.SplitList(v)
		}
		for _, x := range vals {
			if b.list && x == "" {
				continue
			}
			if err := fs.Set(b.flag, x); err != nil {
				return fmt.Errorf("$%s: %w", b.env, err)
			}
		}
	}
	return nil
}

// ModelGiven reports whether the model was configured (by flag,
// environment or .env) rather than left at embed.DefaultModel.
func (c *Config) ModelGiven() bool { return c.modelGiven }

// lookup returns the first of names set in the environment, else the
// first set in dotenv.
func lookup(names []string, dotenv map[string]string) (string, bool) {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			return v, true
		}
	}
	for _, n := range names {
		if v, ok := dotenv[n]; ok {
			return v, true
		}
	}
	return "", false
}

// FromEnv returns the settings from the environment, .env and defaults, for
// programs without flags.
func FromEnv() (*Config, error) {
	fs := flag.NewFlagSet("cliprag", flag.ContinueOnError)
	c := Flags(fs)
	if err := c.Resolve(fs); err != nil {
		return nil, err
	}
	return c, nil
}

// Dotenv returns the value of key from the process environment or, failing
// that, the .env file c was resolved with. Front ends use it for their own
// settings (CLIPRAG_TOKEN, ...) so those follow the same precedence.
func (c *Config) Dotenv(key string) (string, bool) {
	if v, ok := os.LookupEnv(key); ok {
		return v, true
	}
	m, err := readDotenv(c.EnvFile)
	if err != nil || m == nil {
		return "", false
	}
	v, ok := m[key]
	return v, ok
}

func readDotenv(path string) (map[string]string, error) {
	explicit := path != ""
	if !explicit {
		path = ".env"
	}
	m, err := godotenv.Read(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}
