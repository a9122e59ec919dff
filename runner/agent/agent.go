// Package agent is the inside of a Kubernetes Job (runner/kube): `campaignbot
// agent clone` checks the repository out into the shared workspace with
// the clone token, and `campaignbot agent upload` collects the change the
// step containers made and uploads it to the artifact proxy with the
// task's upload token. Both read the environment contract of runner/kube
// and report typed failures in the termination message, so the runner
// returns the same errors the local executor would.
package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/runner/kube"
	"github.com/campaignbot/campaignbot/runner/workspace"
)

// Env reads the agent's environment (os.Getenv in production).
type Env func(key string) string

// TerminationLog is where Kubernetes reads a container's termination message.
const TerminationLog = "/dev/termination-log"

// Clone checks the task's repository out at its base commit.
func Clone(ctx context.Context, env Env) error {
	token, err := readToken(env(kube.EnvCloneTokenFile))
	if err != nil {
		return err
	}
	dir, url, sha := env(kube.EnvWorkspace), env(kube.EnvCloneURL), env(kube.EnvBaseSHA)
	if dir == "" || url == "" || sha == "" {
		return fmt.Errorf("agent clone: %s, %s and %s are required", kube.EnvWorkspace, kube.EnvCloneURL, kube.EnvBaseSHA)
	}
	if err := workspace.Clone(ctx, dir, url, sha, token); err != nil {
		return &runner.CloneError{Repository: env(kube.EnvRepository), Err: err}
	}
	return nil
}

// Upload collects the change in the workspace and uploads it as the
// task's result artifact.
func Upload(ctx context.Context, env Env, hc *http.Client) error {
	token, err := readToken(env(kube.EnvUploadTokenFile))
	if err != nil {
		return err
	}
	var allow []string
	if a := env(kube.EnvAllow); a != "" {
		if err := json.Unmarshal([]byte(a), &allow); err != nil {
			return fmt.Errorf("agent upload: %s is not a JSON list: %w", kube.EnvAllow, err)
		}
	}
	limits := runner.Limits{
		MaxPatchBytes: envInt(env, kube.EnvMaxPatchBytes), MaxFiles: int(envInt(env, kube.EnvMaxFiles)), MaxLogBytes: envInt(env, kube.EnvMaxLogBytes),
	}
	res, err := workspace.Collect(ctx, env(kube.EnvWorkspace), env(kube.EnvBaseSHA), allow, limits)
	if err != nil {
		return err
	}
	data, err := artifacts.EncodeResult(res)
	if err != nil {
		return fmt.Errorf("agent upload: encode result: %w", err)
	}
	sum := sha256.Sum256(data)
	client := artifacts.NewClient(strings.TrimSuffix(env(kube.EnvArtifactURL), "/"), hc)
	task := env(kube.EnvTaskID)
	// The upload is retried a few times with a fresh reader: the proxy may restart.
	var upErr error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		upErr = client.Upload(ctx, token, task, string(artifacts.KindResult), bytes.NewReader(data), int64(len(data)), hex.EncodeToString(sum[:]))
		if upErr == nil {
			return nil
		}
		var se *artifacts.StatusError
		if errors.As(upErr, &se) && se.StatusCode < 500 {
			break // refused: retrying the same request cannot help
		}
	}
	return fmt.Errorf("agent upload: %w", upErr)
}

// Report writes err's typed form to the termination log (best effort).
func Report(err error, path string) {
	if msg := kube.TerminationMessage(err); msg != "" {
		_ = os.WriteFile(path, []byte(msg), 0o644)
	}
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("agent: token file not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("agent: read token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func envInt(env Env, key string) int64 {
	n, _ := strconv.ParseInt(env(key), 10, 64)
	return n
}
