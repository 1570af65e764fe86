package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/ocr"
	"github.com/cliprag/cliprag/tools"
)

// ExplainError renders err for a person at a terminal when it is one the
// commands explain in several lines, and reports whether it is. A model
// whose files could not be had (*hub.MissingError) gives a short first line,
// then the missing files, the folder they belong in, the URL they come from
// (once) and the --model flag, each on its own line. Text from outside
// (paths, the error's own text) is made printable with tools.Printable.
//
// OCR models that could not be had (*ocr.MissingError) are explained the
// same way, with the npm tarball they come from, a command that installs
// them, and the --ocr-model flag.
func ExplainError(err error) (string, bool) {
	var oe *ocr.MissingError
	if errors.As(err, &oe) {
		return explainOCR(err, oe), true
	}
	var me *hub.MissingError
	if !errors.As(err, &me) {
		return "", false
	}
	p := tools.Printable
	prefix := strings.TrimSuffix(err.Error(), me.Error())
	var b strings.Builder
	if errors.Is(me.Err, hub.ErrOffline) {
		fmt.Fprintf(&b, "%s%v\n", p(prefix), me.Err)
	} else {
		fmt.Fprintf(&b, "%sdownload failed: %s\n", p(prefix), p(strings.Join(strings.Fields(me.Err.Error()), " ")))
	}
	fmt.Fprintf(&b, "  files:  %s\n", p(strings.Join(me.Files, ", ")))
	fmt.Fprintf(&b, "  folder: %s (put the files there by hand, keeping sub-folders)\n", p(me.Dir))
	if errors.Is(me.Err, hub.ErrOffline) {
		fmt.Fprintf(&b, "  from:   %s\n", p(me.URL))
	}
	b.WriteString("  or pass --model DIR with a folder that holds the model")
	return b.String(), true
}

func explainOCR(err error, me *ocr.MissingError) string {
	p := tools.Printable
	prefix := strings.TrimSuffix(err.Error(), me.Error())
	var b strings.Builder
	switch {
	case errors.Is(me.Err, hub.ErrOffline):
		fmt.Fprintf(&b, "%sOCR models missing and downloads are off\n", p(prefix))
	case errors.Is(me.Err, ocr.ErrModelsMissing):
		fmt.Fprintf(&b, "%sOCR model files missing from the model folder\n", p(prefix))
	default:
		fmt.Fprintf(&b, "%sOCR model download failed: %s\n", p(prefix), p(strings.Join(strings.Fields(me.Err.Error()), " ")))
	}
	fmt.Fprintf(&b, "  files:  %s\n", p(strings.Join(me.Files, ", ")))
	if me.URL == "" { // the folder was given
		fmt.Fprintf(&b, "  folder: %s", p(me.Dir))
		return b.String()
	}
	fmt.Fprintf(&b, "  folder: %s (put the files there by hand)\n", p(me.Dir))
	fmt.Fprintf(&b, "  from:   %s (in its package/assets/ folder)\n", p(me.URL))
	fmt.Fprintf(&b, "  e.g.:   %s\n", p(me.InstallCommand()))
	b.WriteString("  or pass --ocr-model DIR with a folder that holds them")
	return b.String()
}
