package preprocess

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/internal/safefs"
)

// TestDecodeFileRefusesFIFO: a FIFO named as an image is refused at once
// instead of blocking the caller forever in open.
func TestDecodeFileRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "photo.png")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := DecodeFile(p, DecodeOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, safefs.ErrNotRegular) {
			t.Fatalf("err = %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DecodeFile blocked on a FIFO")
	}
}
