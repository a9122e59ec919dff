package chatops

import (
	"context"
	"fmt"
	"strings"
)

// Permissions reads authority from GitHub — never from the comment.
type Permissions interface {
	// RepoPermission is the user's permission on owner/name: admin,
	// maintain, write, triage, read or none.
	RepoPermission(ctx context.Context, repo, user string) (string, error)
	// TeamMember reports whether user is an active member of org/team.
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
}

// Actor is who asked.
type Actor struct {
	Login string
	Bot   bool // a bot account or an App (including campaignbot itself)
}

// Decision is the outcome of an authorisation check.
type Decision struct {
	Allowed bool
	// Reason says why (granted by what, or what is missing).
	Reason string
}

// Policy holds the configurable rules.
type Policy struct {
	// AllowSelfApproval lets a spec's author approve it (off: four eyes).
	AllowSelfApproval bool
	// Admins may freeze and unfreeze all publishing (logins).
	Admins []string
}

// writeLevels grant control of campaigns on the control repository.
var writeLevels = map[string]bool{"admin": true, "maintain": true, "write": true}

// CanControl decides approve/pause/resume/retry/cancel on the control
// repository: write, maintain or admin there, or a place in the spec's
// owners (users, or org/team memberships). Bots never may.
func CanControl(ctx context.Context, perms Permissions, controlRepo string, owners []string, actor Actor) (Decision, error) {
	if actor.Bot {
		return Decision{Reason: "bots cannot control campaigns"}, nil
	}
	level, err := perms.RepoPermission(ctx, controlRepo, actor.Login)
	if err != nil {
		return Decision{}, fmt.Errorf("read %s's permission on %s: %w", actor.Login, controlRepo, err)
	}
	if writeLevels[level] {
		return Decision{Allowed: true, Reason: fmt.Sprintf("%s permission on %s", level, controlRepo)}, nil
	}
	for _, o := range owners {
		org, team, isTeam := strings.Cut(o, "/")
		if !isTeam {
			if strings.EqualFold(o, actor.Login) {
				return Decision{Allowed: true, Reason: "listed in the spec's owners"}, nil
			}
			continue
		}
		member, err := perms.TeamMember(ctx, org, team, actor.Login)
		if err != nil {
			return Decision{}, fmt.Errorf("read membership of %s in %s: %w", actor.Login, o, err)
		}
		if member {
			return Decision{Allowed: true, Reason: "member of " + o + ", an owner of the spec"}, nil
		}
	}
	reason := fmt.Sprintf("@%s has %s permission on %s; this needs write, maintain or admin there", actor.Login, orNone(level), controlRepo)
	if len(owners) > 0 {
		reason += ", or membership in one of the spec's owners (" + strings.Join(owners, ", ") + ")"
	}
	return Decision{Reason: reason}, nil
}

// CanApprove is CanControl plus the four-eyes rule: the pull request's
// author may not approve their own spec unless the policy allows it.
func CanApprove(ctx context.Context, perms Permissions, p Policy, controlRepo string, owners []string, actor Actor, prAuthor string) (Decision, error) {
	if !p.AllowSelfApproval && prAuthor != "" && strings.EqualFold(prAuthor, actor.Login) {
		return Decision{Reason: fmt.Sprintf("@%s opened this pull request and cannot approve their own spec (four-eyes rule); ask someone with write access or an owner", actor.Login)}, nil
	}
	return CanControl(ctx, perms, controlRepo, owners, actor)
}

// CanFreeze decides the global kill switch: admins named in config only.
func CanFreeze(p Policy, actor Actor) Decision {
	if actor.Bot {
		return Decision{Reason: "bots cannot freeze publishing"}
	}
	for _, a := range p.Admins {
		if strings.EqualFold(a, actor.Login) {
			return Decision{Allowed: true, Reason: "campaignbot admin"}
		}
	}
	return Decision{Reason: fmt.Sprintf("@%s is not a campaignbot admin (CAMPAIGN_ADMINS)", actor.Login)}
}

// CanMaintainTarget decides skip/rebase/snooze on a campaign's pull
// request in a target repository: write, maintain or admin on that
// repository (its maintainers answer back; the control repository and the
// spec's owners give no say there). Bots never may.
func CanMaintainTarget(ctx context.Context, perms Permissions, targetRepo string, actor Actor) (Decision, error) {
	if actor.Bot {
		return Decision{Reason: "bots cannot answer campaigns"}, nil
	}
	level, err := perms.RepoPermission(ctx, targetRepo, actor.Login)
	if err != nil {
		return Decision{}, fmt.Errorf("read %s's permission on %s: %w", actor.Login, targetRepo, err)
	}
	if writeLevels[level] {
		return Decision{Allowed: true, Reason: fmt.Sprintf("%s permission on %s", level, targetRepo)}, nil
	}
	return Decision{Reason: fmt.Sprintf("@%s has %s permission on %s; this needs write, maintain or admin there", actor.Login, orNone(level), targetRepo)}, nil
}

func orNone(level string) string {
	if level == "" || level == "none" {
		return "no"
	}
	return level
}
