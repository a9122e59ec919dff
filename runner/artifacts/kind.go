package artifacts

import "fmt"

// PathPrefix is where `campaignbot server` mounts the Handler, with
// http.StripPrefix(PathPrefix, handler).
const PathPrefix = "/artifacts/v1"

// Kind names what an artifact holds.
type Kind string

// Artifact kinds.
const (
	// KindResult is the encoded runner.Result (see EncodeResult).
	KindResult Kind = "result"
	// KindLogs is free-form step output, uploaded also when a task fails
	// and so has no result.
	KindLogs Kind = "logs"
)

// defaultMaxBytes bounds each kind's body. The result carries file
// contents and the diff, base64-inflated by JSON; runner.DefaultLimits
// caps the diff at 10 MiB.
var defaultMaxBytes = map[Kind]int64{
	KindResult: 64 << 20,
	KindLogs:   16 << 20,
}

// ParseKind returns the Kind named s, or an error for an unknown kind.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if _, ok := defaultMaxBytes[k]; !ok {
		return "", fmt.Errorf("unknown artifact kind %q", s)
	}
	return k, nil
}

// Operation is what a token allows.
type Operation string

// Operations a token can be scoped to.
const (
	OpUpload   Operation = "upload"
	OpDownload Operation = "download"
)

func (o Operation) valid() bool { return o == OpUpload || o == OpDownload }
