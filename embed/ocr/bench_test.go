package ocr

import (
	"context"
	"testing"

	"github.com/cliprag/cliprag/embed/preprocess"
)

// BenchmarkRead reads the figure fixture (640×480, 11 lines); it reports
// detection and recognition milliseconds per image apart.
func BenchmarkRead(b *testing.B) {
	e := realEngine(b)
	img, _, err := preprocess.DecodeFile("testdata/figure-0.png", preprocess.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var det, rec float64
	for b.Loop() {
		res, err := e.Read(context.Background(), img)
		if err != nil {
			b.Fatal(err)
		}
		det += float64(res.Stats.Detect.Microseconds()) / 1000
		rec += float64((res.Stats.Recognize + res.Stats.Classify).Microseconds()) / 1000
	}
	b.ReportMetric(det/float64(b.N), "det-ms/op")
	b.ReportMetric(rec/float64(b.N), "rec-ms/op")
}
