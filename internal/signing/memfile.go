package signing

import (
	"io"

	"civitas/internal/kernel"
)

// memFile is a file in memory that PDFs are prepared and finished in: a
// citizen's document never lands in a shared temporary directory, where
// another process, a crash dump or a backup of /tmp could read it.
type memFile struct {
	b   []byte
	max int64 // the most it may grow to
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, kernel.E(kernel.Invalid, "signing.error.upload")
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if off < 0 || end > m.max {
		return 0, kernel.E(kernel.Invalid, "signing.error.file_too_large", m.max>>20)
	}
	if end > int64(len(m.b)) {
		if end > int64(cap(m.b)) {
			grown := make([]byte, end, max(end, 2*int64(cap(m.b))))
			copy(grown, m.b)
			m.b = grown
		} else {
			m.b = m.b[:end]
		}
	}
	copy(m.b[off:], p)
	return len(p), nil
}

// bytes is the file's content up to size.
func (m *memFile) bytes(size int64) []byte {
	if size > int64(len(m.b)) {
		size = int64(len(m.b))
	}
	return m.b[:size:size]
}
