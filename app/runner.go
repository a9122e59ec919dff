package app

import (
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/runner/local"
)

// newArtifactStorage opens S3 when a bucket is configured, else the filesystem.
func newArtifactStorage(cfg config.Config) (artifacts.Storage, error) {
	r := cfg.Runner
	if r.S3Bucket != "" {
		s, err := artifacts.NewS3Storage(artifacts.S3Config{
			Endpoint: r.S3Endpoint, Region: r.S3Region, Bucket: r.S3Bucket, Prefix: r.S3Prefix,
			AccessKeyID: r.S3AccessKey, SecretAccessKey: r.S3SecretKey, UsePathStyle: r.S3Endpoint != "",
		})
		if err != nil {
			return nil, fmt.Errorf("open S3 artifact storage: %w", err)
		}
		return s, nil
	}
	s, err := artifacts.NewFileStorage(r.ArtifactDir)
	if err != nil {
		return nil, fmt.Errorf("open artifact storage in %s: %w", r.ArtifactDir, err)
	}
	return s, nil
}

// newExecutor builds the configured executor and logs the isolation in force.
func newExecutor(cfg config.Config, cc githubapp.ClientCreator, logger zerolog.Logger, results artifacts.Results) (runner.Executor, error) {
	switch cfg.Runner.Executor {
	case "local":
		opts := []local.Option{}
		if cfg.Runner.WorkDir != "" {
			opts = append(opts, local.WithTempDir(cfg.Runner.WorkDir))
		}
		switch cfg.Runner.Sandbox {
		case "required":
			opts = append(opts, local.RequireSandbox())
		case "off":
			opts = append(opts, local.DisableSandbox())
		}
		e := local.New(repoTokens{cc: cc}, opts...)
		if err := e.Err(); err != nil {
			return nil, err
		}
		logger.Info().Str("executor", "local").Str("isolation", e.Isolation()).Msg("executor ready")
		return e, nil
	case "kube":
		e, err := newKubeExecutor(cfg, repoTokens{cc: cc}, results)
		if err != nil {
			return nil, err
		}
		logger.Info().Str("executor", "kube").Msg("executor ready: one Kubernetes Job per task")
		return e, nil
	default:
		return nil, fmt.Errorf("RUNNER_EXECUTOR=%q: want local or kube", cfg.Runner.Executor)
	}
}
