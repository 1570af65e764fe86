package onnx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
)

// search lists the system places to look for the library; tests replace it.
type search struct {
	goos, goarch string
	systemDirs   func() []string // directories to look in, in order
	ldconfig     func() []string // full paths from the dynamic linker cache
}

func defaultSearch() search {
	return search{goos: runtime.GOOS, goarch: runtime.GOARCH, systemDirs: systemDirs, ldconfig: ldconfigPaths}
}

// libNames are the file names of the library on goos, most specific first.
func libNames(goos string) []string {
	switch goos {
	case "darwin":
		return []string{"libonnxruntime." + Version + ".dylib", "libonnxruntime.dylib"}
	case "windows":
		return []string{"onnxruntime.dll"}
	default:
		return []string{"libonnxruntime.so." + Version, "libonnxruntime.so.1", "libonnxruntime.so"}
	}
}

// cachedLibName is the file name the library has in cliprag's cache.
func cachedLibName(goos string) string {
	switch goos {
	case "darwin":
		return "libonnxruntime.dylib"
	case "windows":
		return "onnxruntime.dll"
	default:
		return "libonnxruntime.so.1"
	}
}

func systemDirs() []string {
	var dirs []string
	env := "LD_LIBRARY_PATH"
	switch runtime.GOOS {
	case "darwin":
		env = "DYLD_LIBRARY_PATH"
	case "windows":
		env = "PATH"
	}
	for _, d := range filepath.SplitList(os.Getenv(env)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if runtime.GOOS == "darwin" {
		dirs = append(dirs, filepath.SplitList(os.Getenv("DYLD_FALLBACK_LIBRARY_PATH"))...)
	}
	switch runtime.GOOS {
	case "windows":
		if sr := os.Getenv("SystemRoot"); sr != "" {
			dirs = append(dirs, filepath.Join(sr, "System32"))
		}
	case "darwin":
		dirs = append(dirs, "/opt/homebrew/lib", "/usr/local/lib", "/opt/homebrew/opt/onnxruntime/lib", "/usr/local/opt/onnxruntime/lib")
	default:
		triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
		dirs = append(dirs, "/usr/local/lib", "/usr/lib")
		if triplet != "" {
			dirs = append(dirs, "/usr/lib/"+triplet, "/lib/"+triplet)
		}
		dirs = append(dirs, "/usr/lib64", "/lib", "/opt/onnxruntime/lib", "/opt/onnxruntime")
	}
	return dirs
}

// ldconfigPaths reads the dynamic linker cache (Linux only).
func ldconfigPaths() []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	var bin string
	for _, c := range []string{"/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"} {
		if p, err := exec.LookPath(c); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-p").Output()
	if err != nil {
		return nil
	}
	var paths []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "libonnxruntime.so") {
			continue
		}
		if i := strings.LastIndex(line, "=> "); i >= 0 {
			paths = append(paths, strings.TrimSpace(line[i+3:]))
		}
	}
	return paths
}

// systemCandidates lists existing library files in the system places.
func (s search) systemCandidates() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p == "" || seen[p] {
			return
		}
		seen[p] = true
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			out = append(out, p)
		}
	}
	if s.ldconfig != nil {
		for _, p := range s.ldconfig() {
			add(p)
		}
	}
	if s.systemDirs != nil {
		for _, d := range s.systemDirs() {
			for _, n := range libNames(s.goos) {
				add(filepath.Join(d, n))
			}
		}
	}
	return out
}

// cacheRoot is cliprag's cache directory for these options.
func cacheRoot(opts LibraryOptions) (string, error) {
	if opts.CacheDir != "" {
		return opts.CacheDir, nil
	}
	return hub.CacheDir()
}

// platformDir is the cache sub-directory for goos/goarch, e.g. "linux-x64".
func platformDir(goos, goarch string) string {
	arch := goarch
	if goarch == "amd64" {
		arch = "x64"
	}
	return goos + "-" + arch
}

// libCacheDir is where the downloaded library lives in the cache.
func libCacheDir(root, goos, goarch string) string {
	return filepath.Join(root, "onnxruntime", Version, platformDir(goos, goarch))
}

// locate finds the library and calls try (which loads it) on candidates in
// order until one succeeds. It returns the path that worked.
func locate(ctx context.Context, opts LibraryOptions, s search, try func(string) error) (string, error) {
	if opts.Path != "" {
		if _, err := os.Stat(opts.Path); err != nil {
			return "", fmt.Errorf("load ONNX Runtime library %s (LibraryOptions.Path): %w", opts.Path, err)
		}
		if err := try(opts.Path); err != nil {
			return "", fmt.Errorf("load ONNX Runtime library %s (LibraryOptions.Path): %w", opts.Path, err)
		}
		return opts.Path, nil
	}
	var tried []string
	for _, p := range s.systemCandidates() {
		err := try(p)
		if err == nil {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v", p, oneLine(err)))
	}

	root, err := cacheRoot(opts)
	if err != nil {
		return "", failure(opts, s, "", append(tried, "cache: "+err.Error()))
	}
	dir := libCacheDir(root, s.goos, s.goarch)
	cached := filepath.Join(dir, cachedLibName(s.goos))
	if _, err := os.Stat(cached); err == nil {
		if err := verifySidecar(cached); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", cached, err))
		} else if err := try(cached); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", cached, oneLine(err)))
		} else {
			return cached, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("find ONNX Runtime library: %w", err)
	}
	if opts.Offline {
		tried = append(tried, "download: skipped (offline)")
		return "", failure(opts, s, dir, tried)
	}
	f := fetcher{opts: opts, goos: s.goos, goarch: s.goarch, dir: dir, dest: cached}
	p, errs := f.fetch(ctx)
	tried = append(tried, errs...)
	if p != "" {
		if err := try(p); err == nil {
			return p, nil
		} else {
			tried = append(tried, fmt.Sprintf("%s: %v", p, oneLine(err)))
		}
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("find ONNX Runtime library: %w", err)
	}
	return "", failure(opts, s, dir, tried)
}

// ErrLibraryNotFound is wrapped by the error Init returns when no usable
// library was found or fetched.
var ErrLibraryNotFound = errors.New("ONNX Runtime shared library not found")

// failure builds the single error that tells the user how to get a library.
func failure(opts LibraryOptions, s search, dir string, tried []string) error {
	var b strings.Builder
	b.WriteString(" (cliprag needs ONNX Runtime >= 1.24)")
	if len(tried) > 0 {
		b.WriteString("; tried:\n")
		for _, t := range tried {
			b.WriteString("  - " + t + "\n")
		}
	} else {
		b.WriteString(".\n")
	}
	name := cachedLibName(s.goos)
	npmPath := npmLibPath(s.goos, s.goarch)
	fmt.Fprintf(&b, "To fix, set %s to the library's path", EnvLibrary)
	if dir != "" {
		fmt.Fprintf(&b, ", or put it at %s", filepath.Join(dir, name))
	}
	b.WriteString(". To install it:\n")
	if npmPath != "" {
		fmt.Fprintf(&b, "  npm pack onnxruntime-node@%s && tar xzf onnxruntime-node-%s.tgz %s && export %s=$PWD/%s\n",
			Version, Version, npmPath, EnvLibrary, npmPath)
	}
	if u, inner := releaseArchive(releaseBase(opts), s.goos, s.goarch); u != "" {
		fmt.Fprintf(&b, "  or download %s and set %s to its %s", u, EnvLibrary, inner)
	}
	return fmt.Errorf("%w%s", ErrLibraryNotFound, strings.TrimRight(b.String(), "\n"))
}
