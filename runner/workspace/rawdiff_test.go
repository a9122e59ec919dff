package workspace

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRawPatchWriter(t *testing.T) {
	z := "0000000000000000000000000000000000000000"
	a := "1111111111111111111111111111111111111111"
	stream := ":100644 100755 " + a + " " + a + " M\x00run.sh\x00" +
		":000000 120000 " + z + " " + a + " A\x00dir/a b\x00" +
		":100644 000000 " + a + " " + z + " D\x00gone\x00" +
		"\x00diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
	want := []rawEntry{
		{oldMode: "100644", newMode: "100755", newSHA: a, status: 'M', path: "run.sh"},
		{oldMode: "000000", newMode: "120000", newSHA: a, status: 'A', path: "dir/a b"},
		{oldMode: "100644", newMode: "000000", newSHA: z, status: 'D', path: "gone"},
	}
	tests := []struct {
		name  string
		chunk int
		keep  int
		input string
		want  []rawEntry
		count int
		patch string
		err   bool
	}{
		{"whole", len(stream), 10, stream, want, 3, "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n", false},
		{"byte by byte", 1, 10, stream, want, 3, "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n", false},
		{"odd chunks, keeps two", 7, 2, stream, want[:2], 3, "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n", false},
		{"empty", 1, 10, "", nil, 0, "", false},
		{"cut in half", 5, 10, stream[:30], nil, 0, "", true},
		{"garbage", 5, 10, "nonsense\x00path\x00", nil, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var patch bytes.Buffer
			w := &rawPatchWriter{keep: tt.keep, patch: &patch}
			for in := []byte(tt.input); len(in) > 0; {
				k := min(tt.chunk, len(in))
				if n, err := w.Write(in[:k]); n != k || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				in = in[k:]
			}
			got, count, err := w.result()
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			if !reflect.DeepEqual(got, tt.want) || count != tt.count || patch.String() != tt.patch {
				t.Errorf("got %+v (count %d), patch %q", got, count, patch.String())
			}
		})
	}
}
