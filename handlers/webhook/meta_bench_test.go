package webhook

import (
	"testing"

	"github.com/campaignbot/campaignbot/fixtures/githubfake/contract"
)

func BenchmarkParseMeta(b *testing.B) {
	p, err := contract.ExamplePayload("issue_comment", "created.with-installation")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := parseMeta(p); err != nil {
			b.Fatal(err)
		}
	}
}
