package ocr

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cliprag/cliprag/embed/onnx"
)

// Direction classifier input: 48×192, normalised to [-1, 1]
// (cls_image_shape 3,48,192).
const clsWidth = 192

// clsBatch builds the classifier input: each crop resized to 48 pixels
// high and at most clsWidth wide, padded with zeros to clsWidth.
func clsBatch(crops []bgr) []float32 {
	per := 3 * recHeight * clsWidth
	data := make([]float32, len(crops)*per)
	for i, c := range crops {
		resampleInto(c, recWidth(c, clsWidth), recHeight, data[i*per:(i+1)*per], clsWidth, recMean, recStd, recFilter)
	}
	return data
}

// classify runs the direction classifier and turns, in place, the crops it
// finds upside down with a probability above DefaultClassifyThresh. It
// returns how many it turned.
func (e *Engine) classify(ctx context.Context, crops []bgr) (int, error) {
	order := batchOrder(crops)
	var batches [][]int
	for start := 0; start < len(order); start += e.o.BatchSize {
		batches = append(batches, order[start:min(start+e.o.BatchSize, len(order))])
	}
	var turned atomic.Int64
	err := e.parallel(ctx, len(batches), func(b int) error {
		idx := batches[b]
		batch := make([]bgr, len(idx))
		for i, j := range idx {
			batch[i] = crops[j]
		}
		out, err := e.cls.Run(ctx, map[string]onnx.Tensor{e.clsIn: {Shape: []int64{int64(len(batch)), 3, recHeight, clsWidth}, Float32: clsBatch(batch)}}, []string{e.clsOut})
		if err != nil {
			return fmt.Errorf("ocr direction classifier: %w", err)
		}
		t := out[e.clsOut]
		if len(t.Shape) != 2 || int(t.Shape[0]) != len(batch) || t.Shape[1] != 2 || len(t.Float32) != 2*len(batch) {
			return fmt.Errorf("ocr direction classifier: unexpected output shape %v", t.Shape)
		}
		for i, j := range idx {
			if p := t.Float32[2*i+1]; p > t.Float32[2*i] && p > DefaultClassifyThresh {
				crops[j] = rotate180(crops[j])
				turned.Add(1)
			}
		}
		return nil
	})
	return int(turned.Load()), err
}
