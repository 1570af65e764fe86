//go:build linux || darwin || freebsd

package preprocess

import (
	"errors"
	"fmt"
	"image"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/ebitengine/purego"
)

// turboLibNames are the shared libraries tried, in order, for the
// TurboJPEG API of libjpeg-turbo (Debian/Ubuntu: libturbojpeg0; Fedora:
// turbojpeg; Homebrew: jpeg-turbo).
var turboLibNames = map[string][]string{
	"linux":   {"libturbojpeg.so.0", "libturbojpeg.so"},
	"freebsd": {"libturbojpeg.so.0", "libturbojpeg.so"},
	"darwin": {"libturbojpeg.0.dylib", "libturbojpeg.dylib",
		"/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.0.dylib",
		"/usr/local/opt/jpeg-turbo/lib/libturbojpeg.0.dylib"},
}

// TurboJPEG constants (turbojpeg.h; stable since libjpeg-turbo 1.2).
const (
	tjcsGray  = 2 // TJCS_GRAY
	tjcsCMYK  = 3 // TJCS_CMYK
	tjcsYCCK  = 4 // TJCS_YCCK
	tjpfRGBA  = 7 // TJPF_RGBA (alpha written as 0xff)
	tjpfGray  = 6 // TJPF_GRAY
	tjpfCMYK  = 11
	tjWarning = 0 // TJERR_WARNING from tjGetErrorCode
	// tjLimitScans (TJFLAG_LIMITSCANS, 2.1+; ignored by older versions)
	// refuses progressive JPEGs of more than 500 scans, a denial-of-service
	// pattern. The flags are otherwise 0: accurate integer IDCT and
	// "fancy" chroma upsampling, libjpeg's defaults, as in the libjpeg
	// build and Pillow.
	tjLimitScans = 32768
)

// turboJPEG is libturbojpeg loaded at run time.
type turboJPEG struct {
	name       string
	init       func() uintptr
	header     func(h uintptr, buf []byte, size uintptr, w, hgt, subsamp, cs *int32) int32
	decompress func(h uintptr, buf []byte, size uintptr, dst []byte, w, pitch, hgt, pf, flags int32) int32
	destroy    func(h uintptr) int32
	errStr     func(h uintptr) string
	errCode    func(h uintptr) int32
}

var (
	turboOnce sync.Once
	turboLib  *turboJPEG
	turboErr  error
)

// loadTurbo opens libturbojpeg once; nil (with the reason in turboErr)
// when the system has no usable copy.
func loadTurbo() *turboJPEG {
	turboOnce.Do(func() { turboLib, turboErr = openTurbo(turboLibNames[runtime.GOOS]) })
	return turboLib
}

// openTurbo opens the first of names that has every function used.
func openTurbo(names []string) (*turboJPEG, error) {
	if len(names) == 0 {
		return nil, errors.New("no libturbojpeg name for " + runtime.GOOS)
	}
	var errs []error
	for _, name := range names {
		lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := bindTurbo(lib, name)
		if err != nil {
			_ = purego.Dlclose(lib)
			errs = append(errs, err)
			continue
		}
		return t, nil
	}
	return nil, errors.Join(errs...)
}

// bindTurbo looks up the TurboJPEG functions in lib.
func bindTurbo(lib uintptr, name string) (*turboJPEG, error) {
	t := &turboJPEG{name: name}
	for _, f := range []struct {
		sym string
		fn  any
	}{
		{"tjInitDecompress", &t.init},
		{"tjDecompressHeader3", &t.header},
		{"tjDecompress2", &t.decompress},
		{"tjDestroy", &t.destroy},
		{"tjGetErrorStr2", &t.errStr},
		{"tjGetErrorCode", &t.errCode},
	} {
		sym, err := purego.Dlsym(lib, f.sym)
		if err != nil || sym == 0 {
			return nil, fmt.Errorf("%s: no %s", name, f.sym)
		}
		purego.RegisterFunc(f.fn, sym)
	}
	return t, nil
}

// decode decodes data (declared w×h by its header) at the scale jpegScale
// chooses for minSide, like the libjpeg build: the same library, the same
// scale, colour space and upsampling, so the same pixels.
//
// Memory: the output image is allocated here, in Go, at the reduced size;
// libjpeg's own buffers are a few rows for a baseline JPEG and, for a
// progressive one, its coefficients (2 bytes per sample: 3 bytes a pixel
// at 4:2:0, 8 for CMYK). decodeCost's estimate, reserved in DefaultBudget
// before decoding, counts the full-size decoded pixels plus the 4-byte
// working copy, which covers both.
func (t *turboJPEG) decode(data []byte, w, h, minSide int) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty JPEG")
	}
	// Messages of libjpeg errors live in a thread-local buffer until
	// tjGetErrorStr2 reads them: stay on this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hd := t.init()
	if hd == 0 {
		return nil, errors.New("libturbojpeg: tjInitDecompress failed")
	}
	defer t.destroy(hd)
	var jw, jh, subsamp, cs int32
	if t.header(hd, data, uintptr(len(data)), &jw, &jh, &subsamp, &cs) != 0 {
		return nil, fmt.Errorf("libturbojpeg: %s", t.errStr(hd))
	}
	if int(jw) != w || int(jh) != h {
		return nil, fmt.Errorf("libturbojpeg: header says %dx%d, image/jpeg read %dx%d", jw, jh, w, h)
	}
	num := jpegScale(w, h, minSide)
	ow, oh := (w*num+7)/8, (h*num+7)/8
	comps, pf := 3, int32(tjpfRGBA)
	switch cs {
	case tjcsGray:
		comps, pf = 1, tjpfGray
	case tjcsCMYK, tjcsYCCK:
		comps, pf = 4, tjpfCMYK
	}
	img, pix, stride := jpegImage(comps, ow, oh)
	rc := t.decompress(hd, data, uintptr(len(data)), pix, int32(ow), int32(stride), int32(oh), pf, tjLimitScans)
	runtime.KeepAlive(data)
	if rc != 0 {
		msg := t.errStr(hd)
		if t.errCode(hd) != tjWarning {
			return nil, fmt.Errorf("libturbojpeg: %s", msg)
		}
		// A warning: the image is decoded. Like the libjpeg build, refuse
		// only truncated data (libjpeg fills the rest with grey); other
		// warnings ("extraneous bytes before marker") are common in
		// camera files that decode fine.
		if strings.Contains(msg, "Premature end of JPEG file") {
			return nil, fmt.Errorf("libturbojpeg: %s: %w", msg, io.ErrUnexpectedEOF)
		}
	}
	if comps == 4 {
		invertCMYK(pix)
	}
	return img, nil
}
