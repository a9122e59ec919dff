package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SlackMessage is a run's message in one Slack channel.
type SlackMessage struct {
	RunID     int64
	Channel   string // as configured: "#name" or an id
	ChannelID string // as Slack answered: chat.update needs the id
	TS        string
	Hash      string
	RunState  string // run state when last rendered
	Frozen    bool   // kill switch when last rendered
	Updates   int    // chat.update calls made
}

// SlackMessage reads the run's message in channel; ok is false before it is posted.
func (s *Store) SlackMessage(ctx context.Context, runID int64, channel string) (m SlackMessage, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
SELECT run_id, channel, channel_id, ts, hash, run_state, frozen, updates FROM slack_messages WHERE run_id = $1 AND channel = $2`,
		runID, channel).Scan(&m.RunID, &m.Channel, &m.ChannelID, &m.TS, &m.Hash, &m.RunState, &m.Frozen, &m.Updates)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read slack message of run %d in %s: %w", runID, channel, err)
	}
	return m, true, nil
}

// SaveSlackMessage records the message as posted or updated.
func (s *Store) SaveSlackMessage(ctx context.Context, m SlackMessage) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO slack_messages (run_id, channel, channel_id, ts, hash, run_state, frozen, updates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (run_id, channel) DO UPDATE SET channel_id = EXCLUDED.channel_id, ts = EXCLUDED.ts, hash = EXCLUDED.hash,
    run_state = EXCLUDED.run_state, frozen = EXCLUDED.frozen, updates = EXCLUDED.updates, updated_at = now()`,
		m.RunID, m.Channel, m.ChannelID, m.TS, m.Hash, m.RunState, m.Frozen, m.Updates)
	if err != nil {
		return fmt.Errorf("record slack message of run %d in %s: %w", m.RunID, m.Channel, err)
	}
	return nil
}

// SlackNotices lists the thread notices already posted under the run's message in channel.
func (s *Store) SlackNotices(ctx context.Context, runID int64, channel string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT notice FROM slack_notices WHERE run_id = $1 AND channel = $2`, runID, channel)
	if err != nil {
		return nil, fmt.Errorf("list slack notices of run %d: %w", runID, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list slack notices of run %d: %w", runID, err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// RecordSlackNotice records a posted thread notice; false when it was recorded already.
func (s *Store) RecordSlackNotice(ctx context.Context, runID int64, channel, notice, ts string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
INSERT INTO slack_notices (run_id, channel, notice, ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, runID, channel, notice, ts)
	if err != nil {
		return false, fmt.Errorf("record slack notice %s of run %d: %w", notice, runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RunSpecVersion reads the spec version a run executes (its notify
// channel, owners, content hash and author).
func (s *Store) RunSpecVersion(ctx context.Context, runID int64) (SpecVersion, error) {
	var v SpecVersion
	err := s.pool.QueryRow(ctx, `
SELECT sv.id, sv.campaign_id, sv.version, sv.yaml, sv.content_hash, sv.commit_sha, sv.author, sv.created_at
FROM runs r JOIN spec_versions sv ON sv.id = r.spec_version_id WHERE r.id = $1`, runID).
		Scan(&v.ID, &v.CampaignID, &v.Version, &v.YAML, &v.ContentHash, &v.CommitSHA, &v.Author, &v.CreatedAt)
	if err != nil {
		return v, fmt.Errorf("read spec version of run %d: %w", runID, err)
	}
	return v, nil
}

// SlackRunsToTellFrozen lists runs not yet finished whose Slack message
// has not shown the kill switch as frozen is now: their threads must be
// told of the change.
func (s *Store) SlackRunsToTellFrozen(ctx context.Context, frozen bool) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `
SELECT DISTINCT m.run_id FROM slack_messages m JOIN runs r ON r.id = m.run_id
WHERE r.state IN ('awaiting_approval', 'running', 'paused') AND m.frozen <> $1 ORDER BY m.run_id`, frozen)
	if err != nil {
		return nil, fmt.Errorf("list runs with slack messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list runs with slack messages: %w", err)
	}
	return ids, nil
}

// SlackLink returns the GitHub login a Slack user proved to be.
func (s *Store) SlackLink(ctx context.Context, slackUserID string) (login string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT github_login FROM slack_user_links WHERE slack_user_id = $1`, slackUserID).Scan(&login)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read slack link of %s: %w", slackUserID, err)
	}
	return login, true, nil
}

// CreateSlackLinkRequest stores a pending link, proved later by the GitHub
// user quoting the code whose hash is codeHash. A user's earlier requests
// are replaced.
func (s *Store) CreateSlackLinkRequest(ctx context.Context, codeHash, slackUserID, login string, expires time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM slack_link_requests WHERE slack_user_id = $1 OR expires_at < now()`, slackUserID); err != nil {
			return fmt.Errorf("replace slack link requests of %s: %w", slackUserID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO slack_link_requests (code_hash, slack_user_id, github_login, expires_at) VALUES ($1, $2, $3, $4)`,
			codeHash, slackUserID, login, expires); err != nil {
			return fmt.Errorf("store slack link request of %s: %w", slackUserID, err)
		}
		return nil
	})
}

// SlackLinkRequest reads a Slack user's pending link request, if one has not expired.
func (s *Store) SlackLinkRequest(ctx context.Context, slackUserID string) (login, codeHash string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT github_login, code_hash FROM slack_link_requests WHERE slack_user_id = $1 AND expires_at > now()`,
		slackUserID).Scan(&login, &codeHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("read slack link request of %s: %w", slackUserID, err)
	}
	return login, codeHash, true, nil
}

// ConfirmSlackLink turns the pending request with codeHash into a link when
// login is the GitHub user it named and it has not expired. The request is
// used up either way: a code is good for one try.
func (s *Store) ConfirmSlackLink(ctx context.Context, codeHash, login string) (slackUserID string, ok bool, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		var want string
		var expires time.Time
		err := tx.QueryRow(ctx, `DELETE FROM slack_link_requests WHERE code_hash = $1 RETURNING slack_user_id, github_login, expires_at`, codeHash).
			Scan(&slackUserID, &want, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read slack link request: %w", err)
		}
		if !strings.EqualFold(want, login) || time.Now().After(expires) {
			return nil
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO slack_user_links (slack_user_id, github_login, source) VALUES ($1, $2, 'github-comment')
ON CONFLICT (slack_user_id) DO UPDATE SET github_login = EXCLUDED.github_login, source = EXCLUDED.source, linked_at = now()`,
			slackUserID, want); err != nil {
			return fmt.Errorf("link slack user %s to %s: %w", slackUserID, want, err)
		}
		ok = true
		return nil
	})
	if !ok {
		slackUserID = ""
	}
	return slackUserID, ok, err
}
