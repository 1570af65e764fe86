//go:build !unix

package onnx

import "errors"

const mmapSupported = false

func mapFile(string) ([]byte, func() error, error) {
	return nil, nil, errors.New("memory-mapped models are not supported on this system")
}

func dropPages([]byte) {}
