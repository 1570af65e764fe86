package ocr

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := realEngine(t)
	res, err := e.ReadFile(context.Background(), "/tmp/refnode/t1.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Lines {
		t.Logf("%q %.4f %v", l.Text, l.Confidence, l.Box)
	}
	t.Logf("%+v", res.Stats)
}
