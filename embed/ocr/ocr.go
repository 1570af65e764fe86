// Package ocr reads the text in images with PaddleOCR's PP-OCRv4 models in
// ONNX Runtime (through embed/onnx), following PaddleOCR's reference
// pipeline:
//
//   - detection (DB): the image resized so its longer side is at most
//     Options.LimitSide and both sides are multiples of 32, normalised
//     with ImageNet's mean and standard deviation; the probability map
//     thresholded, its regions' minimum-area rectangles kept when their
//     mean probability reaches Options.BoxThresh, expanded ("unclipped")
//     by area × Options.UnclipRatio / perimeter;
//   - an optional direction classifier that turns upside-down lines;
//   - recognition: each box perspective-cropped from the image, resized to
//     48 pixels high, batched by width, decoded greedily (CTC) over the
//     model's dictionary plus the space;
//   - reading order: top to bottom, then left to right within a row.
//
// It departs from PaddleOCR where that reads better or costs less, each
// measured on the generated benchmark set (BENCHMARKS.md, ocr): crops are
// resized to the recognition height with an antialiased bicubic filter
// instead of OpenCV's bilinear one, and taken from a box unclipped 1.2
// times further than the reported box (both keep the spaces between
// English words, which PaddleOCR's tight bilinear crops lose); a
// recognition batch holds lines of about the same width only and is as
// wide as its widest line, not padded to 320 (padding is wasted work on a
// CPU); lines are recognised in parallel, one model thread each. Lines
// with no letter or digit (what drawings read as: "+", "—") are dropped.
//
// Each Line has its text, its confidence and its box in the original
// image's pixel coordinates. Images larger than Options.MaxSide are
// reduced by an integer factor before anything else, so the working memory
// is bounded whatever the input. The models are fetched on first use from
// the npm registry into cliprag's cache, or read from Options.ModelDir.
//
// An Engine is safe for concurrent use.
package ocr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"runtime"
	"sync"
	"time"
	"unicode"

	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/internal/safefs"
)

// Defaults for the zero fields of Options (PaddleOCR's defaults where it
// has one).
const (
	DefaultLimitSide      = 960  // det_limit_side_len, det_limit_type "max"
	DefaultMaxSide        = 4096 // larger images are reduced before anything else
	DefaultDetThresh      = 0.3  // det_db_thresh
	DefaultBoxThresh      = 0.6  // det_db_box_thresh
	DefaultUnclipRatio    = 1.5  // det_db_unclip_ratio
	DefaultMaxCandidates  = 1000 // DBPostProcess max_candidates
	DefaultMinConfidence  = 0.5  // drop_score
	DefaultClassifyThresh = 0.9  // cls_thresh
	DefaultBatchSize      = 6    // rec_batch_num and cls_batch_num
	DefaultRowTolerance   = 10   // sorted_boxes: pixels between tops still in one row
)

// Options configures New. The zero value has PaddleOCR's default settings,
// without the direction classifier, with the models in cliprag's cache.
type Options struct {
	// ModelDir is a folder holding the model files (DetModel, RecModel,
	// Dictionary, and ClsModel when Classify is set), directly or in an
	// assets/ sub-folder (an unpacked npm package); they are used as they
	// are and nothing is downloaded. Empty: the cache.
	ModelDir string
	CacheDir string        // cliprag's cache directory; empty: hub.CacheDir()
	Offline  bool          // never download; missing models are a *MissingError that says what to put where
	Progress progress.Func // download progress; nil for none
	Registry string        // npm registry to download from; empty: hub.DefaultNPMRegistry
	// Library says how to find ONNX Runtime when no model has loaded it
	// yet (onnx.Init); its CacheDir, Offline and Progress default to the
	// fields above.
	Library onnx.LibraryOptions

	// Threads is the detection model's intra-op threads and the number of
	// lines recognised at once (each recognition run has one thread),
	// across all concurrent reads; 0: all cores.
	Threads int
	Device  string    // "cpu" (default) or "cuda"
	Log     io.Writer // notices such as a CUDA fallback; nil: os.Stderr

	LimitSide     int     // detection input's longer side at most this; 0: DefaultLimitSide
	MaxSide       int     // images with a longer side are first reduced by an integer factor; 0: DefaultMaxSide
	DetThresh     float32 // 0: DefaultDetThresh
	BoxThresh     float32 // 0: DefaultBoxThresh; negative: no box score filter
	UnclipRatio   float64 // 0: DefaultUnclipRatio
	MinConfidence float32 // lines below are dropped; 0: DefaultMinConfidence; negative: keep all
	Classify      bool    // run the direction classifier on every line (slower; for upside-down text)
	BatchSize     int     // lines per recognition run; 0: DefaultBatchSize
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float32, d float32) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.LimitSide, DefaultLimitSide)
	def(&o.MaxSide, DefaultMaxSide)
	def(&o.BatchSize, DefaultBatchSize)
	deff(&o.DetThresh, DefaultDetThresh)
	deff(&o.BoxThresh, DefaultBoxThresh)
	deff(&o.MinConfidence, DefaultMinConfidence)
	if o.UnclipRatio == 0 {
		o.UnclipRatio = DefaultUnclipRatio
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.LimitSide < 32:
		return fmt.Errorf("limit side %d is below 32", o.LimitSide)
	case o.MaxSide < o.LimitSide:
		return fmt.Errorf("max side %d is below the limit side %d", o.MaxSide, o.LimitSide)
	case o.DetThresh < 0 || o.DetThresh >= 1:
		return fmt.Errorf("detection threshold %v is outside [0, 1)", o.DetThresh)
	case o.BoxThresh >= 1:
		return fmt.Errorf("box threshold %v is 1 or more", o.BoxThresh)
	case o.UnclipRatio < 0 || math.IsNaN(o.UnclipRatio) || math.IsInf(o.UnclipRatio, 0):
		return fmt.Errorf("unclip ratio %v is not a non-negative number", o.UnclipRatio)
	case o.MinConfidence > 1:
		return fmt.Errorf("minimum confidence %v is above 1", o.MinConfidence)
	case o.BatchSize < 0:
		return fmt.Errorf("negative batch size %d", o.BatchSize)
	case o.Threads < 0:
		return fmt.Errorf("negative thread count %d", o.Threads)
	}
	return nil
}

// Line is one recognised line of text. In JSON it is
// {"text": …, "confidence": …, "box": [[x, y], [x, y], [x, y], [x, y]]}.
type Line struct {
	Text       string
	Confidence float32 // mean probability of the characters, 0–1
	// Box is the line's quadrilateral in the original image's pixel
	// coordinates, clockwise from the top-left corner.
	Box [4]image.Point
}

type jsonLine struct {
	Text       string    `json:"text"`
	Confidence float32   `json:"confidence"`
	Box        [4][2]int `json:"box"`
}

// MarshalJSON writes l as {"text", "confidence", "box": [[x, y], …]}.
func (l Line) MarshalJSON() ([]byte, error) {
	j := jsonLine{Text: l.Text, Confidence: l.Confidence}
	for i, p := range l.Box {
		j.Box[i] = [2]int{p.X, p.Y}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Line) UnmarshalJSON(b []byte) error {
	var j jsonLine
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = Line{Text: j.Text, Confidence: j.Confidence}
	for i, p := range j.Box {
		l.Box[i] = image.Point{X: p[0], Y: p[1]}
	}
	return nil
}

// Stats describes the work done for one image.
type Stats struct {
	Detect    time.Duration // resize, detection model and post-processing
	Classify  time.Duration // direction classifier (0 without Options.Classify)
	Recognize time.Duration // crops, recognition model and decoding
	Boxes     int           // text boxes detected
	Skipped   int           // boxes that could not be cropped
	Dropped   int           // lines below Options.MinConfidence, or without a letter or digit
	Rotated   int           // lines the classifier turned upside down
	Reduced   int           // factor the image was reduced by before detection (1: not)
}

// Result is what Read finds in one image: its lines in reading order.
type Result struct {
	Lines []Line
	Stats Stats
}

// Engine runs the OCR pipeline. It is safe for concurrent use.
type Engine struct {
	o             Options
	det, rec, cls *onnx.Session
	detIn, detOut string
	recIn, recOut string
	clsIn, clsOut string
	dict          []string
	// recSlots bounds the recognition runs in flight across all reads:
	// on the CPU each run has one thread, and lines are read in parallel
	// instead (small inputs gain little from a model's intra-op threads).
	recSlots chan struct{}
}

// New loads ONNX Runtime (onnx.Init with Options.Library, a no-op once
// loaded) and the models, downloading them on first use unless
// Options.ModelDir or Options.Offline say otherwise. Models that cannot be
// had are a *MissingError.
func New(ctx context.Context, opts Options) (*Engine, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	paths, err := locateModels(ctx, o)
	if err != nil {
		return nil, err
	}
	lib := o.Library
	if lib.CacheDir == "" {
		lib.CacheDir = o.CacheDir
	}
	if lib.Progress == nil {
		lib.Progress = o.Progress
	}
	lib.Offline = lib.Offline || o.Offline
	if err := onnx.Init(ctx, lib); err != nil {
		return nil, err
	}
	e := &Engine{o: o}
	if e.dict, err = loadDictionary(paths.dict); err != nil {
		return nil, fmt.Errorf("ocr dictionary: %w", err)
	}
	threads := o.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	e.recSlots = make(chan struct{}, threads)
	so := onnx.SessionOptions{Threads: threads, Device: o.Device, Log: o.Log}
	lineSO := so
	lineSO.Threads = 1
	open := func(path string, so onnx.SessionOptions, s **onnx.Session, in, out *string) error {
		sess, err := onnx.NewSessionFromFile(path, so)
		if err != nil {
			return err
		}
		*s = sess
		if len(sess.Inputs()) != 1 || len(sess.Outputs()) < 1 {
			return fmt.Errorf("%s: want one input and an output, model has %d and %d", path, len(sess.Inputs()), len(sess.Outputs()))
		}
		*in, *out = sess.Inputs()[0].Name, sess.Outputs()[0].Name
		return nil
	}
	if err := open(paths.det, so, &e.det, &e.detIn, &e.detOut); err != nil {
		e.Close()
		return nil, err
	}
	if err := open(paths.rec, lineSO, &e.rec, &e.recIn, &e.recOut); err != nil {
		e.Close()
		return nil, err
	}
	if classes := e.rec.Outputs()[0].Shape; len(classes) == 3 && classes[2] > 0 && int(classes[2]) != len(e.dict)+1 {
		e.Close()
		return nil, fmt.Errorf("ocr: %s has %d classes but the dictionary %s has %d characters (+1 blank)", paths.rec, classes[2], paths.dict, len(e.dict))
	}
	if o.Classify {
		if err := open(paths.cls, lineSO, &e.cls, &e.clsIn, &e.clsOut); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Close releases the models. It is safe to call more than once, but not
// while a read is in flight.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	return errors.Join(e.det.Close(), e.rec.Close(), e.cls.Close())
}

// ReadFile reads the image file at path (internal/safefs: regular files
// only, returning when ctx ends) and reads its text (see ReadData).
func (e *Engine) ReadFile(ctx context.Context, path string) (Result, error) {
	data, _, err := safefs.ReadFile(ctx, path, preprocess.DecodeOptions{}.MaxFileBytes())
	if err != nil {
		return Result{}, err // names the path
	}
	return e.ReadData(ctx, path, data)
}

// ReadData decodes data, an image file's contents, through embed/preprocess
// (so EXIF orientation is applied, as for CLIP, images over its pixel limit
// are refused before decoding, and the decoded pixels are reserved in
// preprocess.DefaultBudget while they are used) and reads its text. name is
// for error messages.
func (e *Engine) ReadData(ctx context.Context, name string, data []byte) (Result, error) {
	release, err := preprocess.Reserve(ctx, data, preprocess.DecodeOptions{})
	if err != nil {
		return Result{}, fmt.Errorf("decode %s: %w", name, err)
	}
	defer release()
	img, _, err := preprocess.Decode(name, data, preprocess.DecodeOptions{})
	if err != nil {
		return Result{}, err
	}
	return e.Read(ctx, img)
}

// Read finds and recognises the lines of text in img.
func (e *Engine) Read(ctx context.Context, img image.Image) (Result, error) {
	var res Result
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return res, fmt.Errorf("ocr: empty image (%dx%d)", b.Dx(), b.Dy())
	}
	t0 := time.Now()
	work, k := toBGR(img, e.o.MaxSide)
	res.Stats.Reduced = k
	boxes, err := e.detect(ctx, work)
	if err != nil {
		return res, err
	}
	sortBoxes(boxes, DefaultRowTolerance/float64(k))
	res.Stats.Boxes = len(boxes)
	res.Stats.Detect = time.Since(t0)

	t1 := time.Now()
	crops, kept := cropAll(work, boxes)
	res.Stats.Skipped = len(boxes) - len(kept)
	if e.cls != nil && len(crops) > 0 {
		tc := time.Now()
		n, err := e.classify(ctx, crops)
		if err != nil {
			return res, err
		}
		res.Stats.Rotated = n
		res.Stats.Classify = time.Since(tc)
	}
	texts, confs, err := e.recognize(ctx, crops)
	if err != nil {
		return res, err
	}
	sx := float64(b.Dx()) / float64(work.w)
	sy := float64(b.Dy()) / float64(work.h)
	for i, bx := range kept {
		if !wordy(texts[i]) || (e.o.MinConfidence > 0 && confs[i] < e.o.MinConfidence) {
			res.Stats.Dropped++
			continue
		}
		var box [4]image.Point
		for j, p := range bx.box {
			box[j] = image.Point{
				X: b.Min.X + min(int(math.Round(p.x*sx)), b.Dx()-1),
				Y: b.Min.Y + min(int(math.Round(p.y*sy)), b.Dy()-1),
			}
		}
		res.Lines = append(res.Lines, Line{Text: texts[i], Confidence: confs[i], Box: box})
	}
	res.Stats.Recognize = time.Since(t1) - res.Stats.Classify
	return res, nil
}

// cropMargin scales the unclip ratio for the recognition crops: lines are
// read from a box a little larger than the one reported (1.2 × 1.5 = 1.8),
// which keeps the spaces between words that a tight crop loses (see
// BENCHMARKS.md, ocr).
const cropMargin = 1.2

// cropAll crops every box of img for recognition, leaving out those that
// cannot be cropped (see cropBox); kept are the boxes of the crops.
func cropAll(img bgr, boxes []detBox) (crops []bgr, kept []detBox) {
	for _, bx := range boxes {
		c, ok := cropBox(img, bx.crop)
		if !ok {
			continue
		}
		crops = append(crops, c)
		kept = append(kept, bx)
	}
	return crops, kept
}

// wordy reports whether s has a letter or a digit (of any script). Lines
// of punctuation and symbols alone are dropped: they are what drawings
// read as (a cross as "+", a rule as "-") and nobody searches for them.
func wordy(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}

// detect runs the detection model on img and returns the boxes in img's
// coordinates.
func (e *Engine) detect(ctx context.Context, img bgr) ([]detBox, error) {
	w, h := detSize(img.w, img.h, e.o.LimitSide)
	in := make([]float32, 3*w*h)
	resizeInto(img, w, h, in, w, detMean, detStd)
	out, err := e.det.Run(ctx, map[string]onnx.Tensor{e.detIn: {Shape: []int64{1, 3, int64(h), int64(w)}, Float32: in}}, []string{e.detOut})
	if err != nil {
		return nil, fmt.Errorf("ocr detection: %w", err)
	}
	t := out[e.detOut]
	if len(t.Shape) != 4 || t.Shape[0] != 1 || t.Shape[1] != 1 || len(t.Float32) != int(t.Shape[2]*t.Shape[3]) {
		return nil, fmt.Errorf("ocr detection: unexpected output shape %v", t.Shape)
	}
	pw, ph := int(t.Shape[3]), int(t.Shape[2])
	return detBoxes(t.Float32, pw, ph, img.w, img.h, detParams{
		thresh:        e.o.DetThresh,
		boxThresh:     e.o.BoxThresh,
		unclipRatio:   e.o.UnclipRatio,
		cropRatio:     e.o.UnclipRatio * cropMargin,
		maxCandidates: DefaultMaxCandidates,
	}), nil
}

// recognize runs the recognition model over crops in batches of similar
// width and returns each crop's text and confidence.
func (e *Engine) recognize(ctx context.Context, crops []bgr) ([]string, []float32, error) {
	texts := make([]string, len(crops))
	confs := make([]float32, len(crops))
	batches := recBatches(crops, e.o.BatchSize)
	err := e.parallel(ctx, len(batches), func(b int) error {
		idx := batches[b]
		batch := make([]bgr, len(idx))
		for i, j := range idx {
			batch[i] = crops[j]
		}
		data, width := recBatch(batch)
		out, err := e.rec.Run(ctx, map[string]onnx.Tensor{e.recIn: {Shape: []int64{int64(len(batch)), 3, recHeight, int64(width)}, Float32: data}}, []string{e.recOut})
		if err != nil {
			return fmt.Errorf("ocr recognition: %w", err)
		}
		t := out[e.recOut]
		if len(t.Shape) != 3 || int(t.Shape[0]) != len(batch) || len(t.Float32) != int(t.Shape[0]*t.Shape[1]*t.Shape[2]) {
			return fmt.Errorf("ocr recognition: unexpected output shape %v", t.Shape)
		}
		steps, classes := int(t.Shape[1]), int(t.Shape[2])
		for i, j := range idx {
			texts[j], confs[j] = ctcDecode(t.Float32[i*steps*classes:(i+1)*steps*classes], steps, classes, e.dict)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return texts, confs, nil
}

// parallel runs f(0) … f(n-1), each holding one of e.recSlots, and returns
// the first error (the others still finish; none starts after ctx ends).
func (e *Engine) parallel(ctx context.Context, n int, f func(int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case e.recSlots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-e.recSlots; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
