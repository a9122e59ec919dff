package agent_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/agent"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/runner/kube"
	"github.com/campaignbot/campaignbot/store"
)

// memMeta keeps artifact rows in memory (the proxy's metadata store).
type memMeta struct {
	mu sync.Mutex
	m  map[string]store.Artifact
}

func (m *memMeta) ReplaceArtifact(_ context.Context, a store.Artifact) (store.Artifact, []store.Artifact, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := a.TaskID.String() + "/" + a.Kind
	var old []store.Artifact
	if prev, ok := m.m[k]; ok {
		old = append(old, prev)
	}
	a.CreatedAt = time.Now()
	m.m[k] = a
	return a, old, nil
}

func (m *memMeta) CurrentArtifact(_ context.Context, id uuid.UUID, kind string) (store.Artifact, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.m[id.String()+"/"+kind]
	return a, ok, nil
}

// TestCloneChangeUpload plays a Job: the clone agent checks out with a
// read-only token, a "step" edits the workspace, the upload agent sends
// the change to a real artifact proxy, and the control plane reads it back.
func TestCloneChangeUpload(t *testing.T) {
	ctx := context.Background()
	fake := githubfake.NewT(t)
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "o", Repos: 1, Files: map[string]string{"go.mod": "module x\n\ngo 1.22\n"}})
	if err != nil {
		t.Fatal(err)
	}
	sha, err := fake.BranchSHA(ctx, "o", "repo-0001", "main")
	if err != nil {
		t.Fatal(err)
	}
	token, err := fake.InstallationToken(org.InstallationID, []string{"repo-0001"}, map[string]string{"contents": "read"})
	if err != nil {
		t.Fatal(err)
	}
	storage, err := artifacts.NewFileStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := artifacts.NewSigner([][]byte{[]byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	meta := &memMeta{m: map[string]store.Artifact{}}
	proxy := httptest.NewServer(http.StripPrefix(artifacts.PathPrefix, artifacts.NewHandler(storage, signer, meta)))
	defer proxy.Close()
	task := uuid.New()
	upload, err := signer.Sign(task.String(), artifacts.OpUpload, artifacts.KindResult, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	files := map[string]string{"clone": token, "upload": upload}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := filepath.Join(dir, "ws")
	env := map[string]string{
		kube.EnvTaskID: task.String(), kube.EnvRepository: "o/repo-0001", kube.EnvCloneURL: fake.CloneURL("o", "repo-0001"),
		kube.EnvBaseSHA: sha, kube.EnvWorkspace: ws, kube.EnvCloneTokenFile: filepath.Join(dir, "clone"),
		kube.EnvUploadTokenFile: filepath.Join(dir, "upload"), kube.EnvArtifactURL: proxy.URL + artifacts.PathPrefix,
		kube.EnvAllow: `["go.mod"]`,
	}
	getenv := func(k string) string { return env[k] }
	if err := agent.Clone(ctx, getenv); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "go.mod"), []byte("module x\n\ngo 1.26\n"), 0o644); err != nil { // the step
		t.Fatal(err)
	}
	if err := agent.Upload(ctx, getenv, proxy.Client()); err != nil {
		t.Fatal(err)
	}
	res, err := artifacts.ReadResult(ctx, storage, meta, task, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || string(res.Changed[0].Content) != "module x\n\ngo 1.26\n" || res.PatchHash == "" {
		t.Fatalf("result = %+v", res)
	}

	// A change outside changes.allow is refused, and the termination message says so in typed form.
	if err := os.WriteFile(filepath.Join(ws, "evil.sh"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = agent.Upload(ctx, getenv, proxy.Client())
	var pe *runner.PolicyError
	if err == nil || !errors.As(err, &pe) {
		t.Fatalf("want a policy error, got %v", err)
	}
	logPath := filepath.Join(dir, "termination-log")
	agent.Report(err, logPath)
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), `"kind":"policy"`) || !strings.Contains(string(b), "evil.sh") {
		t.Fatalf("termination message = %s", b)
	}

	// A forged upload token is refused by the proxy.
	if err := os.WriteFile(filepath.Join(dir, "upload"), []byte(upload[:len(upload)-2]+"xx"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ws, "evil.sh")); err != nil {
		t.Fatal(err)
	}
	if err := agent.Upload(ctx, getenv, proxy.Client()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("forged token: %v", err)
	}
}
