package app

import (
	"context"
	"fmt"
	"os"

	"github.com/google/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/runner/kube"
)

// newKubeExecutor builds the Kubernetes executor: in-cluster credentials
// (or KUBECONFIG outside a cluster), runner/kube's settings from the
// CAMPAIGN_KUBE_* environment, upload grants signed for the artifact proxy.
func newKubeExecutor(cfg config.Config, tokens runner.TokenSource, results artifacts.Results) (*kube.Executor, error) {
	kcfg := kube.DefaultConfig()
	if err := config.ApplyEnv(&kcfg, nil); err != nil {
		return nil, fmt.Errorf("kube executor settings: %w", err)
	}
	if err := kcfg.Validate(); err != nil {
		return nil, fmt.Errorf("kube executor settings: %w", err)
	}
	restCfg, err := rest.InClusterConfig()
	if err != nil {
		path := os.Getenv("KUBECONFIG")
		if path == "" {
			return nil, fmt.Errorf("kube executor: not in a cluster (%v) and KUBECONFIG is not set", err)
		}
		if restCfg, err = clientcmd.BuildConfigFromFlags("", path); err != nil {
			return nil, fmt.Errorf("kube executor: load KUBECONFIG: %w", err)
		}
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kube executor: create client: %w", err)
	}
	signer, err := artifacts.NewSigner(cfg.Runner.ArtifactKeyList())
	if err != nil {
		return nil, fmt.Errorf("kube executor: artifact signer: %w", err)
	}
	return kube.New(client, kcfg, tokens, uploadGrants{signer: signer, url: cfg.Runner.ArtifactURL}, fetcher{results}), nil
}

// uploadGrants mints a task's upload token for the proxy (kube.ArtifactTokens).
type uploadGrants struct {
	signer *artifacts.Signer
	url    string
}

func (g uploadGrants) UploadGrant(_ context.Context, taskID string) (kube.Upload, error) {
	// The Job's deadline bounds how long the token must live.
	tok, err := g.signer.Sign(taskID, artifacts.OpUpload, artifacts.KindResult, artifacts.MaxTTL)
	if err != nil {
		return kube.Upload{}, fmt.Errorf("sign upload token for %s: %w", taskID, err)
	}
	return kube.Upload{URL: g.url, Token: tok}, nil
}

// fetcher reads an uploaded result back (kube.ResultFetcher).
type fetcher struct{ results artifacts.Results }

func (f fetcher) FetchResult(ctx context.Context, taskID string) (*runner.Result, error) {
	id, err := uuid.Parse(taskID)
	if err != nil {
		return nil, fmt.Errorf("task id %q: %w", taskID, err)
	}
	return f.results.ReadResult(ctx, id)
}
