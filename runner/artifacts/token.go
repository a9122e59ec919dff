package artifacts

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Token lifetimes. A token outlives one upload by a little; the longest
// Job deadline is bounded elsewhere, and a token that leaks from a Job's
// environment is worth little after a few minutes.
const (
	DefaultTTL = 10 * time.Minute
	MaxTTL     = time.Hour
	// MinKeyBytes is the shortest signing key accepted: 256 bits, the
	// HMAC-SHA256 block-strength the tokens rely on.
	MinKeyBytes = 32
)

// tokenVersion prefixes every token and is covered by the MAC, so a future
// format cannot be confused with this one.
const tokenVersion = "v1"

// maxTokenBytes bounds what Verify decodes; a real token is ~200 bytes.
const maxTokenBytes = 1024

// issuedAtSkew tolerates a token issued by a control-plane replica whose
// clock is slightly ahead.
const issuedAtSkew = time.Minute

// Token verification failures. The HTTP handler maps the first three to
// 401 and ErrTokenScope to 403.
var (
	ErrTokenMalformed = errors.New("malformed artifact token")
	ErrTokenSignature = errors.New("artifact token signature is invalid")
	ErrTokenExpired   = errors.New("artifact token has expired")
	ErrTokenScope     = errors.New("artifact token does not grant this request")
)

// b64 is strict so that each token has exactly one encoding: a flipped
// padding bit must not yield a second valid spelling of the same token.
var b64 = base64.RawURLEncoding.Strict()

// Claims is what a token grants.
type Claims struct {
	Task      string    // canonical UUID of the repo task
	Operation Operation // upload | download
	Kind      Kind
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// payload is the signed JSON; short names keep tokens compact in Job specs.
type payload struct {
	Task string `json:"t"`
	Op   string `json:"o"`
	Kind string `json:"k"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
}

// Signer mints and verifies artifact tokens: v1.<base64url JSON
// claims>.<base64url HMAC-SHA256 of "v1.<claims>">.
type Signer struct {
	keys [][]byte
	now  func() time.Time
	ttl  time.Duration
}

// SignerOption configures NewSigner.
type SignerOption func(*Signer)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) SignerOption { return func(s *Signer) { s.now = now } }

// WithDefaultTTL sets the lifetime of tokens signed with ttl 0.
func WithDefaultTTL(d time.Duration) SignerOption { return func(s *Signer) { s.ttl = d } }

// NewSigner signs with keys[0] and verifies with any key, so a key is
// rotated by prepending the new one and dropping the old one after MaxTTL.
func NewSigner(keys [][]byte, opts ...SignerOption) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("artifact signer: no signing key configured")
	}
	s := &Signer{now: time.Now, ttl: DefaultTTL}
	for i, k := range keys {
		if len(k) < MinKeyBytes {
			return nil, fmt.Errorf("artifact signer: key %d is %d bytes, want at least %d", i, len(k), MinKeyBytes)
		}
		s.keys = append(s.keys, bytes.Clone(k))
	}
	for _, o := range opts {
		o(s)
	}
	if s.ttl <= 0 || s.ttl > MaxTTL {
		return nil, fmt.Errorf("artifact signer: default TTL %s outside (0, %s]", s.ttl, MaxTTL)
	}
	return s, nil
}

// Sign returns a token that grants op on the task's artifact of kind for
// ttl (DefaultTTL, or the signer's default, when 0; at most MaxTTL).
func (s *Signer) Sign(task string, op Operation, kind Kind, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = s.ttl
	}
	if ttl < 0 || ttl > MaxTTL {
		return "", fmt.Errorf("sign artifact token: TTL %s outside (0, %s]", ttl, MaxTTL)
	}
	if err := checkTask(task); err != nil {
		return "", fmt.Errorf("sign artifact token: %w", err)
	}
	if !op.valid() {
		return "", fmt.Errorf("sign artifact token: unknown operation %q", op)
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return "", fmt.Errorf("sign artifact token: %w", err)
	}
	now := s.now()
	body, err := json.Marshal(payload{Task: task, Op: string(op), Kind: string(kind), Iat: now.Unix(), Exp: now.Add(ttl).Unix()})
	if err != nil {
		return "", fmt.Errorf("sign artifact token: %w", err)
	}
	signed := tokenVersion + "." + b64.EncodeToString(body)
	return signed + "." + b64.EncodeToString(mac(s.keys[0], signed)), nil
}

// Verify checks token and that it grants op on the task's artifact of
// kind. Errors wrap ErrTokenMalformed, ErrTokenSignature, ErrTokenExpired
// or ErrTokenScope and never contain the token.
func (s *Signer) Verify(token, task string, op Operation, kind Kind) (Claims, error) {
	c, err := s.parse(token)
	if err != nil {
		return Claims{}, err
	}
	now := s.now()
	if !now.Before(c.ExpiresAt) {
		return Claims{}, fmt.Errorf("%w (at %s)", ErrTokenExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	switch {
	case c.Task != task:
		return Claims{}, fmt.Errorf("%w: issued for task %s", ErrTokenScope, c.Task)
	case c.Operation != op:
		return Claims{}, fmt.Errorf("%w: issued for %s, not %s", ErrTokenScope, c.Operation, op)
	case c.Kind != kind:
		return Claims{}, fmt.Errorf("%w: issued for the %s artifact, not %s", ErrTokenScope, c.Kind, kind)
	}
	return c, nil
}

// parse checks the format and the MAC and returns the claims.
func (s *Signer) parse(token string) (Claims, error) {
	if len(token) == 0 || len(token) > maxTokenBytes {
		return Claims{}, fmt.Errorf("%w: bad length", ErrTokenMalformed)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != tokenVersion {
		return Claims{}, fmt.Errorf("%w: want %s.<claims>.<mac>", ErrTokenMalformed, tokenVersion)
	}
	got, err := b64.DecodeString(parts[2])
	if err != nil || len(got) != sha256.Size {
		return Claims{}, fmt.Errorf("%w: bad MAC encoding", ErrTokenMalformed)
	}
	signed := parts[0] + "." + parts[1]
	ok := false
	for _, k := range s.keys {
		// Every key is tried, so timing does not tell which key matched.
		if hmac.Equal(got, mac(k, signed)) {
			ok = true
		}
	}
	if !ok {
		return Claims{}, ErrTokenSignature
	}
	// Only authenticated bytes are parsed past this point.
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: bad claims encoding", ErrTokenMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p payload
	if err := dec.Decode(&p); err != nil {
		return Claims{}, fmt.Errorf("%w: bad claims", ErrTokenMalformed)
	}
	c := Claims{Task: p.Task, Operation: Operation(p.Op), Kind: Kind(p.Kind), IssuedAt: time.Unix(p.Iat, 0), ExpiresAt: time.Unix(p.Exp, 0)}
	// A correctly signed token that breaks the rules Sign enforces means a
	// key leaked or a bug minted it: refuse it rather than honour it.
	if c.ExpiresAt.Sub(c.IssuedAt) > MaxTTL || c.IssuedAt.After(s.now().Add(issuedAtSkew)) || !c.Operation.valid() || checkTask(c.Task) != nil {
		return Claims{}, fmt.Errorf("%w: claims outside policy", ErrTokenMalformed)
	}
	if _, err := ParseKind(p.Kind); err != nil {
		return Claims{}, fmt.Errorf("%w: claims outside policy", ErrTokenMalformed)
	}
	return c, nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// checkTask accepts only a canonical (lower-case, hyphenated) UUID: the
// task id becomes a storage key segment, so exactly one spelling is safe.
func checkTask(task string) error {
	id, err := uuid.Parse(task)
	if err != nil || id.String() != task {
		return fmt.Errorf("task id %q is not a canonical UUID", task)
	}
	return nil
}
