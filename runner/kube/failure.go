package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
)

// Failure is what an agent container writes to its termination message
// (/dev/termination-log) when it refuses a change or cannot clone, so
// the runner returns the same typed error the local executor would.
type Failure struct {
	Kind    string   `json:"kind"` // "policy", "limit" or "clone"
	Paths   []string `json:"paths,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	What    string   `json:"what,omitempty"`
	Limit   int64    `json:"limit,omitempty"`
	Got     int64    `json:"got,omitempty"`
	Message string   `json:"message,omitempty"`
}

// TerminationMessage encodes err for an agent's termination message; it
// returns "" for errors that have no typed form.
func TerminationMessage(err error) string {
	var (
		pe *runner.PolicyError
		le *runner.LimitError
		ce *runner.CloneError
		f  Failure
	)
	switch {
	case errors.As(err, &pe):
		f = Failure{Kind: "policy", Paths: pe.Paths, Reason: pe.Reason}
	case errors.As(err, &le):
		f = Failure{Kind: "limit", What: le.What, Limit: le.Limit, Got: le.Got}
	case errors.As(err, &ce):
		f = Failure{Kind: "clone", Message: fmt.Sprint(ce.Err)}
	default:
		return ""
	}
	b, jerr := json.Marshal(f)
	if jerr != nil {
		return ""
	}
	return string(b)
}

// typedFailure decodes a termination message written by
// TerminationMessage; ok is false for anything else (plain log text).
func typedFailure(msg, repo string) (error, bool) {
	var f Failure
	if !strings.HasPrefix(strings.TrimSpace(msg), "{") || json.Unmarshal([]byte(msg), &f) != nil {
		return nil, false
	}
	switch f.Kind {
	case "policy":
		return &runner.PolicyError{Paths: f.Paths, Reason: f.Reason}, true
	case "limit":
		return &runner.LimitError{What: f.What, Limit: f.Limit, Got: f.Got}, true
	case "clone":
		return &runner.CloneError{Repository: repo, Err: errors.New(f.Message)}, true
	}
	return nil, false
}

// diagnose turns a Failed Job into the error Execute returns: the first
// container (in run order) that exited non-zero names the failure; on a
// deadline, the container that was still running timed out.
func (e *Executor) diagnose(ctx context.Context, req runner.Request, job *batchv1.Job) error {
	reason, message := "", ""
	if c := jobCondition(job, batchv1.JobFailed); c != nil {
		reason, message = c.Reason, c.Message
	}
	deadline := reason == batchv1.JobReasonDeadlineExceeded
	pod, err := e.jobPod(ctx, job)
	if err != nil {
		return fmt.Errorf("kube: job %s failed (%s: %s); %w", job.Name, reason, message, err)
	}
	if pod == nil {
		return fmt.Errorf("kube: job %s failed (%s: %s) with no pod to inspect", job.Name, reason, message)
	}

	names := containerNames(stepNames(req.Steps))
	order := append(append([]string{cloneContainer}, names...), uploadContainer)
	failing, exit, timedOut, termMsg := "", 0, false, ""
	for _, name := range order {
		cs := containerStatus(pod, name)
		if cs == nil {
			continue
		}
		if t := cs.State.Terminated; t != nil {
			if t.ExitCode != 0 {
				failing, exit, termMsg = name, int(t.ExitCode), t.Message
				break
			}
			continue
		}
		if deadline { // running or waiting when the deadline struck
			failing, timedOut = name, true
			break
		}
	}
	if failing == "" {
		return fmt.Errorf("kube: job %s failed (%s: %s) but no container failed", job.Name, reason, message)
	}

	tail, _, logErr := e.logTail(ctx, pod.Name, failing, e.cfg.LogTailBytes)
	if logErr != nil || tail == "" {
		// The node may be gone (an error) or the pod never reached one
		// (the API server answers with an empty log). The termination
		// message, which FallbackToLogsOnError fills with the log tail,
		// is the next best.
		tail = termMsg
	}
	switch failing {
	case cloneContainer:
		if typed, ok := typedFailure(termMsg, req.Repository); ok {
			return typed
		}
		what := fmt.Sprintf("clone container exited with code %d", exit)
		if timedOut {
			what = "clone container timed out"
		}
		return &runner.CloneError{Repository: req.Repository, Err: fmt.Errorf("%s: %s", what, lastLine(tail))}
	case uploadContainer:
		if typed, ok := typedFailure(termMsg, req.Repository); ok {
			return typed
		}
		if timedOut {
			return fmt.Errorf("kube: task %s: upload timed out: %s", req.TaskID, lastLine(tail))
		}
		return fmt.Errorf("kube: task %s: upload exited with code %d: %s", req.TaskID, exit, lastLine(tail))
	}
	for i, n := range names {
		if n == failing {
			return &runner.StepError{Step: req.Steps[i].Name, ExitCode: exit, TimedOut: timedOut, LogTail: tail}
		}
	}
	return fmt.Errorf("kube: job %s: unknown container %s failed", job.Name, failing)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
