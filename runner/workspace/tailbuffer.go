package workspace

import "sync"

// TailBuffer is an io.Writer that keeps only the last N bytes written to
// it and counts them all, so a step printing gigabytes costs N bytes of
// memory. It is safe for concurrent use (stdout and stderr of a process
// may be written by two goroutines).
type TailBuffer struct {
	mu    sync.Mutex
	buf   []byte // ring of len <= max
	max   int
	start int // index of the oldest byte once the ring is full
	total int64
}

// NewTailBuffer returns a buffer keeping the last max bytes (at least 1).
func NewTailBuffer(max int64) *TailBuffer {
	if max < 1 {
		max = 1
	}
	return &TailBuffer{max: int(max)}
}

// Write keeps the tail of p; it never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	b.total += int64(n)
	if n >= b.max {
		// p alone fills the ring: keep its last max bytes.
		b.buf = append(b.buf[:0], p[n-b.max:]...)
		b.start = 0
		return n, nil
	}
	if room := b.max - len(b.buf); room > 0 {
		k := min(room, len(p))
		b.buf = append(b.buf, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(b.buf[b.start:], p)
		p = p[k:]
		b.start = (b.start + k) % b.max
	}
	return n, nil
}

// Bytes returns a copy of the kept tail, oldest byte first.
func (b *TailBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]byte, 0, len(b.buf))
	out = append(out, b.buf[b.start:]...)
	return append(out, b.buf[:b.start]...)
}

// String returns the kept tail.
func (b *TailBuffer) String() string { return string(b.Bytes()) }

// Total is the number of bytes ever written.
func (b *TailBuffer) Total() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// Truncated reports whether bytes were dropped.
func (b *TailBuffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total > int64(len(b.buf))
}
