//go:build !linux && !darwin && !freebsd

package preprocess

import (
	"errors"
	"image"
)

// turboJPEG stands for libturbojpeg, which is not loaded on this system.
type turboJPEG struct{ name string }

var turboErr = errors.New("libturbojpeg is not loaded on this system")

func loadTurbo() *turboJPEG { return nil }

func (t *turboJPEG) decode([]byte, int, int, int) (image.Image, error) { return nil, turboErr }
