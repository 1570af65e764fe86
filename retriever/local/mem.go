package local

import (
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// The table's per-row arrays live outside the Go heap, in anonymous memory
// maps of fixed-size chunks. The garbage collector lets the heap grow to
// twice its live size before collecting (GOGC=100), so a 500 MB table on
// the heap could cost 1 GB of RSS; off the heap it costs its size, and the
// heap holds only small, short-lived things. The chunks hold no Go
// pointers.

// offHeap returns n zeroed bytes outside the Go heap, or on the heap when
// the system refuses the map.
func offHeap(n int) (b []byte, mapped bool) {
	if n <= 0 {
		return nil, false
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), false
	}
	return b, true
}

// freeOffHeap releases what offHeap mapped.
func freeOffHeap(b []byte, mapped bool) {
	if mapped && len(b) > 0 {
		_ = unix.Munmap(b)
	}
}

// viewAs reinterprets b as a slice of n values of T; b must hold n·sizeof(T)
// bytes and T no pointers.
func viewAs[T any](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// pageDropper keeps the RSS of a long read through a bbolt file's memory
// map low: every few megabytes it tells the kernel that the pages under
// the values seen so far are not needed for now (madvise DONTNEED). They
// leave this process's RSS and come back from the page cache if touched
// again, so the map stays correct.
//
// Only values inside the file's map are considered: bbolt hands out values
// of small (inline) buckets from copies on the Go heap, whose pages must
// not be dropped.
type pageDropper struct {
	base, end    uintptr // the file's map
	lo           *byte
	loAddr, hiAd uintptr
	seen         int
}

// newPageDropper returns a dropper for the values of tx's file.
func newPageDropper(tx *bolt.Tx) pageDropper {
	base := tx.DB().Info().Data
	return pageDropper{base: base, end: base + uintptr(tx.Size())}
}

func (d *pageDropper) saw(v []byte) {
	if len(v) == 0 {
		return
	}
	p := unsafe.SliceData(v)
	a := uintptr(unsafe.Pointer(p))
	if a < d.base || a+uintptr(len(v)) > d.end {
		return
	}
	if d.lo == nil || a < d.loAddr {
		d.lo, d.loAddr = p, a
	}
	if e := a + uintptr(len(v)); e > d.hiAd {
		d.hiAd = e
	}
	if d.seen += len(v); d.seen >= 8<<20 {
		d.flush()
	}
}

func (d *pageDropper) flush() {
	if d.lo == nil {
		return
	}
	const page = 4096
	off := d.loAddr & (page - 1)
	start := unsafe.Add(unsafe.Pointer(d.lo), -int(off))
	n := (d.hiAd - d.loAddr + off + page - 1) &^ (page - 1)
	_ = unix.Madvise(unsafe.Slice((*byte)(start), n), unix.MADV_DONTNEED)
	d.lo, d.loAddr, d.hiAd, d.seen = nil, 0, 0, 0
}
