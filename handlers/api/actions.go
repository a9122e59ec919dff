package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// maxActionBody bounds an action's JSON body (a reason and a repository).
const maxActionBody = 16 << 10

// maxReason bounds a pause or cancel reason, which ends up in comments.
const maxReason = 500

func final(state string) bool {
	return state == store.RunCompleted || state == store.RunCancelled || state == store.RunFailed
}

// decodeJSON reads an optional JSON body into v, strictly.
func decodeJSON(q *request, limit int64, v any) error {
	if ct := q.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(CodeUnsupportedMedia, "send the body as application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
	}
	if err != nil {
		return errorf(CodeBadRequest, "could not read the body: "+err.Error())
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(CodeBadRequest, "invalid JSON body: "+err.Error())
	}
	if dec.More() {
		return errorf(CodeBadRequest, "invalid JSON body: more than one JSON value")
	}
	return nil
}

// action runs one run action: it reads the run and the body, refuses what
// the run's state forbids, calls do, audits the outcome (every request,
// bad ones included, naming the run's campaign when there is a run) and
// answers with the run as it is afterwards.
func (h *Handler) action(q *request, name string, do func(run store.RunDetail, in ActionRequest) (ActionResult, error)) error {
	run, runErr := h.run(q)
	target, details := targetOf(q), map[string]any{}
	if runErr == nil {
		target, details = "run:"+strconv.FormatInt(run.ID, 10), runDetails(run)
	}
	var in ActionRequest
	err := decodeJSON(q, maxActionBody, &in)
	in.Reason = strings.TrimSpace(in.Reason)
	in.Repository = strings.TrimSpace(in.Repository)
	if err == nil && len(in.Reason) > maxReason {
		err = errorf(CodeBadRequest, fmt.Sprintf("reason is longer than %d characters", maxReason))
	}
	if err == nil {
		err = runErr
	}
	if in.Reason != "" {
		details["reason"] = in.Reason
	}
	if in.Repository != "" {
		details["repository"] = in.Repository
	}
	if err != nil {
		h.auditError(q, name, target, err, details)
		return err
	}
	if h.cfg.Control == nil {
		h.audit(q, name, target, "error", "run control is not available on this server", details)
		return errorf(CodeUnavailable, "run control is not available on this server")
	}
	res, err := do(run, in)
	switch {
	case errors.Is(err, orchestrator.ErrWrongState):
		h.audit(q, name, target, "refused", err.Error(), details)
		return errorf(CodeConflict, err.Error())
	case err != nil:
		h.auditError(q, name, target, err, details)
		var ae *apiError
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("%s run %d: %w", name, run.ID, err)
	}
	details["changed"] = res.Changed
	if name == "retry" {
		details["requeued"] = res.Requeued
	}
	if name == "cancel" {
		details["closing_prs"] = res.ClosingPRs
	}
	h.audit(q, name, target, "accepted", in.Reason, details)
	after, ok, err := h.cfg.Store.APIRun(q.ctx, run.ID)
	if err != nil {
		return err
	}
	if !ok {
		after = run
	}
	res.Action, res.Run = name, toRun(after)
	writeJSON(q.w, http.StatusOK, res)
	return nil
}

// runDetails are the audit details naming a run and its campaign, so that
// GET /audit?campaign= finds every action on the campaign's runs.
func runDetails(run store.RunDetail) map[string]any {
	return map[string]any{"campaign": run.CampaignName, "run_id": run.ID, "run_state": run.State}
}

// auditError audits a failed action: refused when the API refused it (bad
// input, no such run, the state), error when something broke.
func (h *Handler) auditError(q *request, name, target string, err error, details map[string]any) {
	var ae *apiError
	if errors.As(err, &ae) {
		h.audit(q, name, target, "refused", ae.msg, details)
		return
	}
	h.audit(q, name, target, "error", err.Error(), details)
}

func (h *Handler) pause(q *request) error {
	return h.action(q, "pause", func(run store.RunDetail, in ActionRequest) (ActionResult, error) {
		if final(run.State) {
			return ActionResult{}, errorf(CodeConflict, fmt.Sprintf("run %d is %s: there is nothing to pause", run.ID, run.State))
		}
		changed, err := h.cfg.Control.Pause(q.ctx, run.ID, q.actor(), in.Reason)
		return ActionResult{Changed: changed}, err
	})
}

func (h *Handler) resume(q *request) error {
	return h.action(q, "resume", func(run store.RunDetail, in ActionRequest) (ActionResult, error) {
		if final(run.State) {
			return ActionResult{}, errorf(CodeConflict, fmt.Sprintf("run %d is %s: it cannot be resumed", run.ID, run.State))
		}
		changed, err := h.cfg.Control.Resume(q.ctx, run.ID, q.actor())
		return ActionResult{Changed: changed}, err
	})
}

func (h *Handler) retry(q *request) error {
	return h.action(q, "retry", func(run store.RunDetail, in ActionRequest) (ActionResult, error) {
		if in.Repository != "" {
			if err := spec.ValidateRepoName(in.Repository); err != nil {
				return ActionResult{}, errorf(CodeBadRequest, fmt.Sprintf("repository %q: %v", in.Repository, err))
			}
		}
		if run.State == store.RunCancelled {
			return ActionResult{}, errorf(CodeConflict, fmt.Sprintf("run %d is cancelled: its changesets are not retried", run.ID))
		}
		n, err := h.cfg.Control.Retry(q.ctx, run.ID, q.actor(), in.Repository)
		return ActionResult{Changed: n > 0, Requeued: n}, err
	})
}

func (h *Handler) cancel(q *request) error {
	return h.action(q, "cancel", func(run store.RunDetail, in ActionRequest) (ActionResult, error) {
		switch run.State {
		case store.RunCancelled:
			return ActionResult{Changed: false}, nil
		case store.RunCompleted, store.RunFailed:
			return ActionResult{}, errorf(CodeConflict, fmt.Sprintf("run %d is %s: there is nothing to cancel", run.ID, run.State))
		}
		out, err := h.cfg.Control.Cancel(q.ctx, run.ID, q.actor(), in.Reason)
		return ActionResult{Changed: out.Cancelled, ClosingPRs: out.Closing}, err
	})
}
