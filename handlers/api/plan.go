package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// ErrNoInstallation is wrapped by InstallationFinder when the App is not
// installed on the control repository (the API answers 503).
var ErrNoInstallation = errors.New("the GitHub App is not installed on the control repository")

// maxPlanBody bounds POST /plan: a spec is at most spec.MaxFileSize, and
// JSON escaping can inflate it.
const maxPlanBody = 4 * spec.MaxFileSize

// PlanRequest is the body of POST /plan (or send the YAML itself as
// application/yaml).
type PlanRequest struct {
	// Spec is the campaign spec's YAML.
	Spec string `json:"spec"`
	// Path names the file in diagnostics (default campaigns/<name>.yaml).
	Path string `json:"path,omitempty"`
}

// PlanPreview is what a spec would do, computed as the plan check does.
type PlanPreview struct {
	Valid       bool             `json:"valid"`
	Name        string           `json:"name,omitempty"`
	Path        string           `json:"path"`
	Diagnostics spec.Diagnostics `json:"diagnostics"`
	// Change is added (no such campaign yet), changed or unchanged against
	// the campaign's latest version.
	Change        string `json:"change,omitempty"`
	LatestVersion int    `json:"latest_version,omitempty"`
	// Diff is a unified diff against the latest version.
	Diff    string          `json:"diff,omitempty"`
	Targets *TargetsPreview `json:"targets,omitempty"`
	// TargetsError says why GitHub refused the spec's targets.
	TargetsError string `json:"targets_error,omitempty"`
}

// TargetsPreview is the resolved target list.
type TargetsPreview struct {
	Count        int         `json:"count"`
	Repositories []string    `json:"repositories"`
	Excluded     []Exclusion `json:"excluded"`
	Warnings     []string    `json:"warnings"`
	Cached       bool        `json:"cached"`
}

// Exclusion is a candidate repository left out, and why.
type Exclusion struct {
	Repository string `json:"repository"`
	Reason     string `json:"reason"`
}

func (h *Handler) readPlanRequest(q *request) (PlanRequest, error) {
	var in PlanRequest
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain":
		body, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxPlanBody))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return in, errorf(CodeTooLarge, fmt.Sprintf("the spec is larger than %d bytes", maxPlanBody))
		}
		if err != nil {
			return in, errorf(CodeBadRequest, "could not read the body: "+err.Error())
		}
		in.Spec = string(body)
		in.Path = q.r.URL.Query().Get("path")
	case "", "application/json":
		if err := decodeJSON(q, maxPlanBody, &in); err != nil {
			return in, err
		}
	default:
		return in, errorf(CodeUnsupportedMedia, "send {\"spec\": YAML} as application/json, or the YAML itself as application/yaml")
	}
	if strings.TrimSpace(in.Spec) == "" {
		return in, errorf(CodeBadRequest, "spec is empty: send the campaign spec's YAML")
	}
	if in.Path != "" && (len(in.Path) > 300 || strings.ContainsAny(in.Path, "\x00\n\r")) {
		return in, errorf(CodeBadRequest, "path must be a file name of at most 300 characters")
	}
	return in, nil
}

// plan validates a spec and resolves its targets with the same selection
// (and cache) as the plan check on pull requests. An invalid spec is a
// successful preview with valid false and the diagnostics.
func (h *Handler) plan(q *request) error {
	in, err := h.readPlanRequest(q)
	if err != nil {
		return err
	}
	file := in.Path
	if file == "" {
		file = "spec.yaml"
	}
	parsed, diags := spec.Parse(file, []byte(in.Spec))
	out := PlanPreview{Path: file, Diagnostics: diags, Valid: parsed != nil && !diags.HasErrors()}
	if out.Diagnostics == nil {
		out.Diagnostics = spec.Diagnostics{}
	}
	if parsed != nil {
		out.Name = parsed.Name
	}
	if in.Path == "" && out.Name != "" && campaignName.MatchString(out.Name) {
		// Name the file as the control repository would hold it.
		out.Path = path.Join("campaigns", out.Name+".yaml")
		for i := range out.Diagnostics {
			out.Diagnostics[i].File = out.Path
		}
	}
	if out.Name != "" && campaignName.MatchString(out.Name) {
		if err := h.diffLatest(q, &out, []byte(in.Spec)); err != nil {
			return err
		}
	}
	if !out.Valid {
		writeJSON(q.w, http.StatusOK, out)
		return nil
	}
	if h.cfg.Selector == nil || h.cfg.Installations == nil {
		return errorf(CodeUnavailable, "target selection is not available on this server")
	}
	inst, err := h.cfg.Installations.ControlInstallation(q.ctx)
	if errors.Is(err, ErrNoInstallation) {
		return errorf(CodeUnavailable, err.Error())
	}
	if err != nil {
		return err
	}
	t, err := h.cfg.Selector.Select(q.ctx, inst, parsed.Targets)
	switch {
	case errors.Is(err, orchestrator.ErrTargetsRejected):
		out.TargetsError = err.Error()
	case err != nil:
		return errorf(CodeUpstream, "could not resolve the targets on GitHub: "+err.Error())
	default:
		tp := &TargetsPreview{Count: len(t.Repositories), Repositories: t.Repositories, Excluded: []Exclusion{}, Warnings: t.Warnings, Cached: t.Cached}
		if tp.Repositories == nil {
			tp.Repositories = []string{}
		}
		if tp.Warnings == nil {
			tp.Warnings = []string{}
		}
		for _, e := range t.Excluded {
			tp.Excluded = append(tp.Excluded, Exclusion{Repository: e.FullName, Reason: e.Reason})
		}
		out.Targets = tp
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// diffLatest compares the spec with its campaign's latest version.
func (h *Handler) diffLatest(q *request, out *PlanPreview, data []byte) error {
	c, ok, err := h.cfg.Store.APICampaign(q.ctx, h.cfg.ControlRepo, out.Name)
	if err != nil {
		return err
	}
	if !ok || c.LatestVersion == 0 {
		out.Change = string(orchestrator.Added)
		return nil
	}
	v, ok, err := h.cfg.Store.APISpecVersion(q.ctx, c.ID, c.LatestVersion)
	if err != nil || !ok {
		return err
	}
	out.LatestVersion = v.Version
	// The plan check's own comparison, so the preview's diff is the check's.
	base := orchestrator.Snapshot{Files: []orchestrator.SpecFile{{Path: out.Path, Data: []byte(v.YAML)}}}
	head := orchestrator.Snapshot{Files: []orchestrator.SpecFile{{Path: out.Path, Data: data}}}
	plans := orchestrator.Touched(base, head)
	if len(plans) == 0 {
		out.Change = "unchanged"
		return nil
	}
	out.Change, out.Diff = string(orchestrator.Changed), plans[0].Diff
	return nil
}
