// Package onnx wraps ONNX Runtime (github.com/yalue/onnxruntime_go) for the
// rest of cliprag: it finds or fetches the shared library, opens sessions and
// runs them. No other package imports onnxruntime_go.
//
// The library is looked up in this order: LibraryOptions.Path, the system
// library paths, and cliprag's cache (LibraryOptions.CacheDir, default the
// OS user cache dir + "cliprag", in onnxruntime/<version>/<os>-<arch>/).
// The package reads no settings of its own from the environment: the
// commands' configuration maps ONNXRUNTIME_LIB (EnvLibrary), CLIPRAG_CACHE,
// CLIPRAG_ORT_URL (EnvReleaseURL) and NPM_CONFIG_REGISTRY to these options. When it is nowhere, Init downloads
// ONNX Runtime Version into the cache, from the official GitHub release or,
// failing that, from the npm registry's onnxruntime-node package.
package onnx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/cliprag/cliprag/embed/progress"
)

// Version is the ONNX Runtime release that Init downloads when no library is
// installed. onnxruntime_go v1.27 needs a library of version 1.24 or newer.
const Version = "1.24.3"

// EnvLibrary is the environment variable the commands read the shared
// library's path from (into LibraryOptions.Path).
const EnvLibrary = "ONNXRUNTIME_LIB"

// LibraryOptions says where to find the ONNX Runtime shared library.
type LibraryOptions struct {
	Path     string        // explicit library path; empty: system paths, cache, download
	CacheDir string        // cliprag's cache dir; empty: the OS user cache dir + "cliprag"
	Progress progress.Func // download progress; nil for none
	Offline  bool          // never download

	// ReleaseURL is the base URL of the official release archives; empty:
	// https://github.com/microsoft/onnxruntime/releases/download.
	// The archive is fetched from <ReleaseURL>/v<Version>/<archive name>.
	ReleaseURL string
	// NPMRegistry is the npm registry to fetch onnxruntime-node from; empty:
	// https://registry.npmjs.org.
	NPMRegistry string
}

var (
	initMu   sync.Mutex
	initPath string
	initErr  error
	initDone bool
)

// Init loads the ONNX Runtime library once per process. Once it has
// succeeded, later calls are no-ops returning nil; after a failure a later
// call tries again (for example with other options).
func Init(ctx context.Context, opts LibraryOptions) error {
	initMu.Lock()
	defer initMu.Unlock()
	if initDone {
		return nil
	}
	path, err := locate(ctx, opts, defaultSearch(), loadLibrary)
	if err != nil {
		initErr = err
		return err
	}
	initDone, initPath, initErr = true, path, nil
	return nil
}

// LibraryPath is the path of the library Init loaded, or "" before a
// successful Init.
func LibraryPath() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath
}

// RuntimeVersion is the version string of the loaded ONNX Runtime library, or
// "" before a successful Init.
func RuntimeVersion() string {
	initMu.Lock()
	defer initMu.Unlock()
	if !initDone {
		return ""
	}
	return ort.GetVersion()
}

func requireInit() error {
	initMu.Lock()
	defer initMu.Unlock()
	if initDone {
		return nil
	}
	if initErr != nil {
		return fmt.Errorf("onnx runtime not initialised: %w", initErr)
	}
	return errors.New("onnx runtime not initialised: call onnx.Init first")
}

// loadLibrary loads the shared library at path into the process.
func loadLibrary(path string) error {
	ort.SetSharedLibraryPath(path)
	err := ort.InitializeEnvironment(ort.WithLogLevelError())
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "Error setting ORT API base: 2") {
		return fmt.Errorf("ONNX Runtime at %s is too old: cliprag needs version 1.24 or newer", path)
	}
	return err
}
