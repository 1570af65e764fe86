package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// useCache reports whether a session with these options may use the ORT
// format cache: a cache directory is set and the session runs on the CPU.
func useCache(o SessionOptions) bool {
	d := strings.ToLower(strings.TrimSpace(o.Device))
	return o.CacheDir != "" && (d == "" || d == "cpu") && mmapSupported
}

// cachedPath is where the ORT format copy of the model at path lives: a name
// from the model's path, size, modification time, first and last MiB, and
// the runtime's version, so that a changed model or runtime gets a new copy.
func cachedPath(dir, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "cliprag ort cache v1\n%s\n%d\n%d\n%s\n%s\n", abs, st.Size(), st.ModTime().UnixNano(), Version, ort.GetVersion())
	const edge = 1 << 20
	if _, err := io.CopyN(h, f, edge); err != nil && err != io.EOF {
		return "", err
	}
	if st.Size() > 2*edge {
		if _, err := f.Seek(-edge, io.SeekEnd); err != nil {
			return "", err
		}
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "-" + hex.EncodeToString(h.Sum(nil))[:16] + ".ort"
	return filepath.Join(dir, "ort", name), nil
}

// openCached opens the model at path from its ORT format copy, writing the
// copy first when there is none. It returns nil when the cache cannot serve
// (no copy could be written, or a copy does not load: it is then removed),
// and the caller opens the model the ordinary way, whose error is the one to
// report.
func openCached(path string, o SessionOptions, info func() ([]TensorInfo, []TensorInfo, error)) *Session {
	cached, err := cachedPath(o.CacheDir, path)
	if err != nil {
		return nil
	}
	if _, err := os.Stat(cached); err == nil {
		if s := openMapped(path, cached, o, info); s != nil {
			return s
		}
		os.Remove(cached)
	}
	if o.CacheNoWrite {
		return nil
	}
	return writeCached(path, cached, o, info)
}

// openMapped opens a session on the memory-mapped ORT format file cached,
// using its initializers in place.
func openMapped(path, cached string, o SessionOptions, info func() ([]TensorInfo, []TensorInfo, error)) *Session {
	data, unmap, err := mapFile(cached)
	if err != nil {
		return nil
	}
	create := func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		for _, kv := range [][2]string{
			{"session.use_ort_model_bytes_directly", "1"},
			{"session.use_ort_model_bytes_for_initializers", "1"},
		} {
			if err := so.AddSessionConfigEntry(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		// The copy is optimised already.
		if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
			return nil, err
		}
		// ONNX Runtime reads every weight while it creates the session
		// and keeps its own packed copies of those of matrix products:
		// the mapped pages it has read are dropped as it goes, so that the
		// file and the packed copies are not resident together (for
		// ViT-B/32's image tower and a batch of 16, a peak of 470 MiB
		// instead of 690).
		stop := dropWhile(data, dropEvery)
		defer stop()
		return ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
	}
	s, err := newSession(path, o, info, create)
	if err != nil {
		unmap()
		return nil
	}
	s.release = unmap
	// Let the pages go until touched again, so a long-running process does
	// not keep the whole file resident.
	dropPages(data)
	return s
}

// dropEvery is how often dropWhile drops the mapped pages.
const dropEvery = 20 * time.Millisecond

// dropWhile drops the resident pages of data every interval until stop is
// called. The mapping is a read-only view of a file, so a dropped page
// that is read again comes back unchanged from the page cache.
func dropWhile(data []byte, every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				dropPages(data)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// writeCached opens the model at path the ordinary way while ONNX Runtime
// writes its optimised graph, in ORT format, to cached, then opens the
// session from the copy. Extended rather than all optimisations keep the
// copy free of layouts specific to this CPU. The writing session packs no
// weights (it is closed at once), which keeps the first open's peak memory
// at about twice the model's size rather than three times.
func writeCached(path, cached string, o SessionOptions, info func() ([]TensorInfo, []TensorInfo, error)) *Session {
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return nil
	}
	tmp := fmt.Sprintf("%s.tmp%d", cached, os.Getpid())
	defer os.Remove(tmp)
	create := func(in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
		if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended); err != nil {
			return nil, err
		}
		if err := so.AddSessionConfigEntry("session.save_model_format", "ORT"); err != nil {
			return nil, err
		}
		if err := so.SetOptimizedModelFilePath(tmp); err != nil {
			return nil, err
		}
		if err := so.AddSessionConfigEntry("session.disable_prepacking", "1"); err != nil {
			return nil, err
		}
		return ort.NewDynamicAdvancedSession(path, in, out, so)
	}
	w, err := newSession(path, o, info, create)
	if err != nil {
		return nil
	}
	w.Close()
	if st, err := os.Stat(tmp); err != nil || st.Size() == 0 || os.Rename(tmp, cached) != nil {
		return nil
	}
	if s := openMapped(path, cached, o, info); s != nil {
		return s
	}
	os.Remove(cached)
	return nil
}
