//go:build unix

package onnx

import (
	"os"
	"syscall"
)

const mmapSupported = true

// mapFile maps the file at path read-only into memory.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 || int64(int(st.Size())) != st.Size() {
		return nil, nil, syscall.EINVAL
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

// dropPages tells the kernel that the mapped pages of data are not needed
// now: they leave the process's resident set (they stay in the page cache
// and come back on the next access, unchanged, since the mapping is a
// read-only view of a file).
func dropPages(data []byte) {
	_ = syscall.Madvise(data, syscall.MADV_DONTNEED)
}
