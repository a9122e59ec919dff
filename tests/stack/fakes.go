package stack

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
)

// MemResults keeps execution results in memory (app.WithResultStore).
type MemResults struct {
	mu sync.Mutex
	m  map[uuid.UUID]*runner.Result
}

// NewMemResults returns an empty MemResults.
func NewMemResults() *MemResults { return &MemResults{m: map[uuid.UUID]*runner.Result{}} }

// ReadResult implements orchestrator.ResultReader.
func (m *MemResults) ReadResult(_ context.Context, id uuid.UUID) (*runner.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.m[id]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("no result for %s", id)
}

// SaveResult implements orchestrator.ResultStore.
func (m *MemResults) SaveResult(_ context.Context, id uuid.UUID, r *runner.Result) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[id] = r
	return "mem/" + id.String(), nil
}

// Len is how many results are kept.
func (m *MemResults) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// StaticTargets resolves every spec to the same targets.
type StaticTargets []orchestrator.Target

// Resolve implements orchestrator.TargetResolver.
func (s StaticTargets) Resolve(context.Context, int64, spec.Targets) ([]orchestrator.Target, error) {
	return s, nil
}
