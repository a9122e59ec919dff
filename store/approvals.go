package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Approval is one person's approval of exact spec content.
type Approval struct {
	ID           int64
	ControlRepo  string
	CampaignName string
	ContentHash  string
	Approver     string
	PRNumber     int
	SourceURL    string
	VoidedAt     *time.Time
	VoidReason   string
	CreatedAt    time.Time
}

// AddApproval records an approval; approving the same content twice is one approval.
func (s *Store) AddApproval(ctx context.Context, a Approval) (added bool, err error) {
	tag, err := s.pool.Exec(ctx, `
INSERT INTO approvals (control_repo, campaign_name, content_hash, approver, pr_number, source_url)
SELECT $1, $2, $3, $4, NULLIF($5, 0), $6
WHERE NOT EXISTS (SELECT 1 FROM approvals WHERE control_repo = $1 AND campaign_name = $2 AND content_hash = $3
                  AND lower(approver) = lower($4) AND voided_at IS NULL)`,
		a.ControlRepo, a.CampaignName, a.ContentHash, a.Approver, a.PRNumber, a.SourceURL)
	if err != nil {
		return false, fmt.Errorf("record approval of %s by %s: %w", a.CampaignName, a.Approver, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Approvers lists who approved exactly this content (not voided).
func (s *Store) Approvers(ctx context.Context, controlRepo, name, contentHash string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
SELECT DISTINCT approver FROM approvals
WHERE control_repo = $1 AND campaign_name = $2 AND content_hash = $3 AND voided_at IS NULL ORDER BY approver`,
		controlRepo, name, contentHash)
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s: %w", name, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s: %w", name, err)
	}
	return out, nil
}

// VoidStaleApprovals voids a pull request's approvals of a campaign whose
// content is no longer keepHash (a push changed it) and returns how many.
func (s *Store) VoidStaleApprovals(ctx context.Context, controlRepo string, prNumber int, name, keepHash, reason string) (int, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE approvals SET voided_at = now(), void_reason = $5
WHERE control_repo = $1 AND pr_number = $2 AND campaign_name = $3 AND content_hash <> $4 AND voided_at IS NULL`,
		controlRepo, prNumber, name, keepHash, reason)
	if err != nil {
		return 0, fmt.Errorf("void approvals of %s on #%d: %w", name, prNumber, err)
	}
	return int(tag.RowsAffected()), nil
}

// AuditEntry is one row of the audit log: every command and state change.
type AuditEntry struct {
	ID        int64
	Actor     string
	Action    string
	Target    string
	Outcome   string // accepted | refused | error
	Reason    string
	SourceURL string
	Details   map[string]any
	At        time.Time
}

// Audit appends to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	details, err := json.Marshal(e.Details)
	if err != nil || e.Details == nil {
		details = []byte("{}")
	}
	_, err = s.pool.Exec(ctx, `
INSERT INTO audit_log (actor, action, target, outcome, reason, source_url, details) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.Actor, e.Action, e.Target, e.Outcome, e.Reason, e.SourceURL, details)
	if err != nil {
		return fmt.Errorf("write audit entry %s %s: %w", e.Action, e.Target, err)
	}
	return nil
}

// AuditLog lists entries, newest first; target "" for all, else a prefix match.
func (s *Store) AuditLog(ctx context.Context, targetPrefix string, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, actor, action, target, outcome, reason, source_url, details, at FROM audit_log
WHERE $1 = '' OR target LIKE $1 || '%' ORDER BY id DESC LIMIT $2`, targetPrefix, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var details []byte
		if err := r.Scan(&e.ID, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Reason, &e.SourceURL, &details, &e.At); err != nil {
			return e, err
		}
		return e, json.Unmarshal(details, &e.Details)
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
