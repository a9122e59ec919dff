package publisher

import (
	"strconv"
	"strings"
)

// Commit trailers record, in the commit itself, which campaign made it and
// which patch it carries. Comparing the branch head's trailer with the new
// Result's PatchHash is how a re-publish knows the patch is unchanged
// without storing anything, and a head without our trailer is a commit a
// person pushed.
const (
	trailerCampaign = "Campaignbot-Campaign"
	trailerPatch    = "Campaignbot-Patch"
)

// commitMessage returns the commit's headline and body with the trailers.
func commitMessage(msg string, campaignID int64, patchHash string) (headline, body string) {
	msg = strings.TrimSpace(msg)
	headline, body, _ = strings.Cut(msg, "\n")
	headline = strings.TrimSpace(headline)
	if headline == "" {
		headline = "campaignbot change"
	}
	body = strings.TrimSpace(body)
	if body != "" {
		body += "\n\n"
	}
	body += trailerCampaign + ": " + strconv.FormatInt(campaignID, 10) + "\n" + trailerPatch + ": " + patchHash
	return headline, body
}

// trailers reads the trailers of a commit message (last paragraph,
// "Key: value" lines).
func trailers(msg string) map[string]string {
	out := map[string]string{}
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(msg, "\r\n", "\n")), "\n\n")
	for _, line := range strings.Split(paras[len(paras)-1], "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(k, " \t") {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// madeBy says whether a commit message carries campaignID's trailer and,
// if so, the patch hash it records.
func madeBy(msg string, campaignID int64) (patch string, ok bool) {
	t := trailers(msg)
	if t[trailerCampaign] != strconv.FormatInt(campaignID, 10) {
		return "", false
	}
	return t[trailerPatch], true
}
