package workspace

import (
	"strings"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int64
		writes []string
		want   string
		trunc  bool
	}{
		{"empty", 4, nil, "", false},
		{"fits", 8, []string{"abc", "de"}, "abcde", false},
		{"exact", 5, []string{"abc", "de"}, "abcde", false},
		{"wraps", 4, []string{"abc", "def"}, "cdef", true},
		{"wraps many times", 3, []string{"ab", "cd", "ef", "g"}, "efg", true},
		{"one big write", 4, []string{"0123456789"}, "6789", true},
		{"big then small", 4, []string{"0123456789", "ab"}, "89ab", true},
		{"max below one", 0, []string{"xyz"}, "z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewTailBuffer(tt.max)
			var total int64
			for _, w := range tt.writes {
				n, err := b.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				total += int64(len(w))
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if b.Total() != total || b.Truncated() != tt.trunc {
				t.Errorf("Total, Truncated = %d, %v; want %d, %v", b.Total(), b.Truncated(), total, tt.trunc)
			}
		})
	}
}

func TestTailBufferKeepsTailOfLongStream(t *testing.T) {
	b := NewTailBuffer(1000)
	var all strings.Builder
	for i := 0; i < 5000; i++ {
		line := strings.Repeat(string(rune('a'+i%26)), i%37) + "\n"
		all.WriteString(line)
		_, _ = b.Write([]byte(line))
	}
	want := all.String()[all.Len()-1000:]
	if b.String() != want {
		t.Fatalf("tail differs from the last 1000 bytes written")
	}
}
