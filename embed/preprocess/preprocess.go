// Package preprocess decodes images and turns them into the normalised
// tensors CLIP image towers take, matching PIL and torchvision.
package preprocess

import "errors"

// Mode says how an image is fitted to the model's square input.
type Mode int

const (
	// CenterCrop resizes the shorter side to Size, then crops the centre.
	CenterCrop Mode = iota
	// Squash resizes straight to Size×Size, ignoring aspect ratio.
	Squash
)

// Preprocessor turns images into normalised channel-major 3×Size×Size tensors.
type Preprocessor struct {
	Size      int
	Mode      Mode
	Mean, Std [3]float32
	// MaxPixels is the largest declared width×height accepted; 0 means 100 megapixels.
	MaxPixels int64
}

// LoadFile decodes the image at path and returns its tensor. TODO(preprocess helper).
func (p Preprocessor) LoadFile(path string) ([]float32, error) {
	return nil, errors.New("preprocess: not implemented")
}
