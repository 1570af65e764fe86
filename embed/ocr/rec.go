package ocr

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// Recognition input: 48 pixels high, normalised to [-1, 1] (PaddleOCR's
// rec_image_shape 3,48,320 and resize_norm_img). A batch is as wide as its
// widest line, at least recMinWidth: PaddleOCR pads every batch to at
// least 320, which for the short labels of figures and screenshots
// multiplies the model's work several times over and changes nothing
// measurable in what it reads (see BENCHMARKS.md, ocr).
const (
	recHeight   = 48
	recMinWidth = recHeight
	// maxCropHeight bounds the height of a perspective crop (the side
	// across the text); taller boxes are sampled down while cropping, so a
	// huge box costs no more memory than this height allows.
	maxCropHeight = 4 * recHeight
	// maxRecWidth bounds a line's width at the recognition height; longer
	// lines are squeezed to it.
	maxRecWidth = 8192
)

var (
	recMean = [3]float32{0.5, 0.5, 0.5}
	recStd  = [3]float32{0.5, 0.5, 0.5}
)

// loadDictionary reads PaddleOCR's character dictionary (one character per
// line) and appends the space, as use_space_char does. Index i of the
// result is the character of class i+1; class 0 is the CTC blank.
func loadDictionary(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dict []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		dict = append(dict, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(dict) == 0 {
		return nil, fmt.Errorf("%s: empty dictionary", path)
	}
	return append(dict, " "), nil
}

// ctcDecode is CTCLabelDecode: the best class per time step, repeats
// merged, blanks dropped; the confidence is the mean probability of the
// characters kept (0 when none). Unlike PaddleOCR, spaces at either end of
// the text are trimmed: the recognition crops' margins (cropMargin) read
// as spaces now and then, and a line never starts or ends with one.
func ctcDecode(probs []float32, steps, classes int, dict []string) (string, float32) {
	var b strings.Builder
	var sum float64
	n := 0
	prev := -1
	for t := range steps {
		row := probs[t*classes : (t+1)*classes]
		best, bp := 0, row[0]
		for c := 1; c < classes; c++ {
			if row[c] > bp {
				best, bp = c, row[c]
			}
		}
		if best != 0 && best != prev && best-1 < len(dict) {
			b.WriteString(dict[best-1])
			sum += float64(bp)
			n++
		}
		prev = best
	}
	if n == 0 {
		return "", 0
	}
	return strings.Trim(b.String(), " "), float32(sum / float64(n))
}

// cropBox is get_rotate_crop_image: the quadrilateral box of img (corners
// clockwise from top-left) warped to an upright rectangle as wide as its
// longer top/bottom edge and as high as its longer left/right edge, turned
// a quarter counter-clockwise when it is at least 1.5 times as high as
// wide (vertical text). Crops higher than maxCropHeight across the text are
// sampled down to it. ok is false for a box that cannot be cropped
// (degenerate, not finite, or less than a pixel wide or high).
func cropBox(img bgr, box [4]pt) (bgr, bool) {
	for _, p := range box {
		if math.IsNaN(p.x) || math.IsNaN(p.y) || math.IsInf(p.x, 0) || math.IsInf(p.y, 0) {
			return bgr{}, false
		}
	}
	if img.w <= 0 || img.h <= 0 {
		return bgr{}, false
	}
	fw := math.Max(dist(box[0], box[1]), dist(box[2], box[3]))
	fh := math.Max(dist(box[0], box[3]), dist(box[1], box[2]))
	w, h := int(fw), int(fh)
	if w < 1 || h < 1 {
		return bgr{}, false
	}
	vertical := float64(h)/float64(w) >= 1.5
	// The side across the text; the side along it is bounded by the
	// working image (Options.MaxSide).
	across := float64(h)
	if vertical {
		across = float64(w)
	}
	s := math.Min(1, float64(maxCropHeight)/across)
	cw, ch := max(int(float64(w)*s), 1), max(int(float64(h)*s), 1)
	m, ok := quadHomography(quadOf(box), float64(w)*s, float64(h)*s)
	if !ok {
		return bgr{}, false
	}
	out := warp(img, m, cw, ch)
	if vertical {
		out = rotate90(out)
	}
	return out, true
}

// recWidth is the width a crop takes at the recognition height, limited to
// limit (resize_norm_img's resized_w).
func recWidth(c bgr, limit int) int {
	return min(int(math.Ceil(float64(recHeight)*float64(c.w)/float64(c.h))), limit)
}

// batchOrder returns the indices of crops sorted by aspect ratio, as
// PaddleOCR batches them, so that each batch pads little.
func batchOrder(crops []bgr) []int {
	idx := make([]int, len(crops))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra := float64(crops[a].w) / float64(crops[a].h)
		rb := float64(crops[b].w) / float64(crops[b].h)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})
	return idx
}

// maxBatchPad bounds the padding in a recognition batch: a line joins the
// batch while its width is at most this factor of the batch's first (and
// narrowest) line's. PaddleOCR pads every batch of six to its widest line,
// which on a CPU is pure waste (the model's cost grows with the width and
// batching saves nothing); it also makes a line's text depend on the other
// lines of the image.
const maxBatchPad = 1.1

// recBatches groups the indices of crops, sorted by aspect ratio, into
// batches of at most size lines of about the same width (maxBatchPad).
func recBatches(crops []bgr, size int) [][]int {
	var out [][]int
	var cur []int
	var first float64
	for _, i := range batchOrder(crops) {
		r := float64(crops[i].w) / float64(crops[i].h)
		if len(cur) > 0 && (len(cur) == size || r > first*maxBatchPad) {
			out, cur = append(out, cur), nil
		}
		if len(cur) == 0 {
			first = r
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// recBatch builds the recognition input for crops: each resized to the
// recognition height, normalised, and padded with zeros to the widest
// (at least recMinWidth, at most maxRecWidth).
func recBatch(crops []bgr) ([]float32, int) {
	maxRatio := float64(recMinWidth) / recHeight
	for _, c := range crops {
		maxRatio = math.Max(maxRatio, float64(c.w)/float64(c.h))
	}
	width := min(int(recHeight*maxRatio), maxRecWidth)
	per := 3 * recHeight * width
	data := make([]float32, len(crops)*per)
	for i, c := range crops {
		resampleInto(c, recWidth(c, width), recHeight, data[i*per:(i+1)*per], width, recMean, recStd, recFilter)
	}
	return data, width
}

// recFilter resizes crops to the recognition height (see resampleInto).
var recFilter = bicubicFilter
