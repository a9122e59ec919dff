package artifacts_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner/artifacts"
)

var (
	keyA = []byte("0123456789abcdef0123456789abcdef-key-a")
	keyB = []byte("0123456789abcdef0123456789abcdef-key-b")
)

const taskA = "2f1c2b9e-8a43-4a57-9d55-0f3f4b0f6a11"
const taskB = "7d0f6c3a-1b2e-4c5d-8e9f-a0b1c2d3e4f5"

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newSigner(t *testing.T, clock *fakeClock, keys ...[]byte) *artifacts.Signer {
	t.Helper()
	s, err := artifacts.NewSigner(keys, artifacts.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flipBit(tok string, i int) string {
	b := []byte(tok)
	b[i] ^= 0x01
	return string(b)
}

func TestTokenVerification(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)}
	signer := newSigner(t, clock, keyA)
	tok, err := signer.Sign(taskA, artifacts.OpUpload, artifacts.KindResult, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "v1.") || strings.Count(tok, ".") != 2 || len(tok) > 300 {
		t.Fatalf("token %q is not compact v1.<payload>.<mac>", tok)
	}
	payloadEnd := strings.LastIndexByte(tok, '.')

	tests := []struct {
		name    string
		token   string
		task    string
		op      artifacts.Operation
		kind    artifacts.Kind
		advance time.Duration
		want    error
		// anyErr: some error is required, which one depends on the bytes.
		anyErr bool
	}{
		{"round trip", tok, taskA, artifacts.OpUpload, artifacts.KindResult, 0, nil, false},
		{"valid just before expiry", tok, taskA, artifacts.OpUpload, artifacts.KindResult, artifacts.DefaultTTL - time.Second, nil, false},
		{"expired", tok, taskA, artifacts.OpUpload, artifacts.KindResult, artifacts.DefaultTTL, artifacts.ErrTokenExpired, false},
		{"wrong task", tok, taskB, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenScope, false},
		{"wrong operation", tok, taskA, artifacts.OpDownload, artifacts.KindResult, 0, artifacts.ErrTokenScope, false},
		{"wrong kind", tok, taskA, artifacts.OpUpload, artifacts.KindLogs, 0, artifacts.ErrTokenScope, false},
		{"bit flipped in payload", flipBit(tok, 5), taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenSignature, false},
		{"bit flipped in mac", flipBit(tok, len(tok)-3), taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenSignature, false},
		// The low bit of the last base64 character either changes the
		// payload (bad MAC) or is a padding bit the strict decoder refuses.
		{"last payload char flipped", flipBit(tok, payloadEnd-1), taskA, artifacts.OpUpload, artifacts.KindResult, 0, nil, true},
		{"empty", "", taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"garbage", "not-a-token", taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"wrong version", "v2" + tok[2:], taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"missing mac", tok[:payloadEnd], taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"extra part", tok + ".x", taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"mac not base64", tok[:payloadEnd] + ".!!!!", taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
		{"oversized", tok + strings.Repeat("A", 2000), taskA, artifacts.OpUpload, artifacts.KindResult, 0, artifacts.ErrTokenMalformed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.t = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC).Add(tc.advance)
			c, err := signer.Verify(tc.token, tc.task, tc.op, tc.kind)
			if tc.anyErr {
				if err == nil {
					t.Fatal("verified")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tok[payloadEnd+1:]) {
				t.Fatalf("error %q contains the token's MAC", err)
			}
			if tc.want == nil && (c.Task != taskA || c.Operation != artifacts.OpUpload || c.Kind != artifacts.KindResult ||
				c.ExpiresAt.Sub(c.IssuedAt) != artifacts.DefaultTTL) {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func TestTokenKeyRotation(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	old := newSigner(t, clock, keyA)
	rotated := newSigner(t, clock, keyB, keyA) // new key first, old still accepted
	retired := newSigner(t, clock, keyB)

	oldTok, _ := old.Sign(taskA, artifacts.OpDownload, artifacts.KindLogs, time.Minute)
	newTok, _ := rotated.Sign(taskA, artifacts.OpDownload, artifacts.KindLogs, time.Minute)
	cases := []struct {
		name   string
		signer *artifacts.Signer
		token  string
		want   error
	}{
		{"rotated signer accepts a token of the old key", rotated, oldTok, nil},
		{"rotated signer signs with the new key", retired, newTok, nil},
		{"old key retired", retired, oldTok, artifacts.ErrTokenSignature},
		{"old signer does not know the new key", old, newTok, artifacts.ErrTokenSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.signer.Verify(tc.token, taskA, artifacts.OpDownload, artifacts.KindLogs); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignerRefuses(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	if _, err := artifacts.NewSigner(nil); err == nil {
		t.Error("no keys accepted")
	}
	if _, err := artifacts.NewSigner([][]byte{[]byte("short")}); err == nil {
		t.Error("short key accepted")
	}
	if _, err := artifacts.NewSigner([][]byte{keyA}, artifacts.WithDefaultTTL(2*time.Hour)); err == nil {
		t.Error("default TTL above MaxTTL accepted")
	}
	s := newSigner(t, clock, keyA)
	bad := []struct {
		name string
		task string
		op   artifacts.Operation
		kind artifacts.Kind
		ttl  time.Duration
	}{
		{"ttl above max", taskA, artifacts.OpUpload, artifacts.KindResult, artifacts.MaxTTL + time.Second},
		{"negative ttl", taskA, artifacts.OpUpload, artifacts.KindResult, -time.Second},
		{"task not a uuid", "../../etc", artifacts.OpUpload, artifacts.KindResult, 0},
		{"task upper-case", strings.ToUpper(taskA), artifacts.OpUpload, artifacts.KindResult, 0},
		{"unknown op", taskA, "delete", artifacts.KindResult, 0},
		{"unknown kind", taskA, artifacts.OpUpload, "patch", 0},
	}
	for _, tc := range bad {
		if _, err := s.Sign(tc.task, tc.op, tc.kind, tc.ttl); err == nil {
			t.Errorf("%s: signed", tc.name)
		}
	}
	// MaxTTL itself is allowed and expires on time.
	tok, err := s.Sign(taskA, artifacts.OpUpload, artifacts.KindResult, artifacts.MaxTTL)
	if err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(artifacts.MaxTTL + time.Second)
	if _, err := s.Verify(tok, taskA, artifacts.OpUpload, artifacts.KindResult); !errors.Is(err, artifacts.ErrTokenExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}
