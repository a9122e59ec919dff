package chatops

import (
	"context"
	"strings"
	"testing"
)

type fakePerms struct {
	levels  map[string]string // user -> level on the control repo
	members map[string]bool   // "org/team/user"
}

func (f fakePerms) RepoPermission(_ context.Context, _, user string) (string, error) {
	if l, ok := f.levels[user]; ok {
		return l, nil
	}
	return "none", nil
}

func (f fakePerms) TeamMember(_ context.Context, org, team, user string) (bool, error) {
	return f.members[org+"/"+team+"/"+user], nil
}

func TestCanApprove(t *testing.T) {
	perms := fakePerms{
		levels:  map[string]string{"writer": "write", "admin": "admin", "reader": "read", "author": "write"},
		members: map[string]bool{"octo-org/platform/teamie": true},
	}
	owners := []string{"octo-org/platform", "solo"}
	for _, tc := range []struct {
		actor  Actor
		policy Policy
		allow  bool
		reason string
	}{
		{Actor{Login: "writer"}, Policy{}, true, "write permission"},
		{Actor{Login: "admin"}, Policy{}, true, "admin permission"},
		{Actor{Login: "reader"}, Policy{}, false, "has read permission on octo-org/platform; this needs write"},
		{Actor{Login: "teamie"}, Policy{}, true, "member of octo-org/platform"},
		{Actor{Login: "solo"}, Policy{}, true, "owners"},
		{Actor{Login: "author"}, Policy{}, false, "four-eyes"},
		{Actor{Login: "author"}, Policy{AllowSelfApproval: true}, true, "write permission"},
		{Actor{Login: "writer", Bot: true}, Policy{}, false, "bots"},
		{Actor{Login: "stranger"}, Policy{}, false, "has no permission"},
	} {
		d, err := CanApprove(context.Background(), perms, tc.policy, "octo-org/platform", owners, tc.actor, "author")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allow || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("%+v: %+v, want allowed=%v with %q", tc.actor, d, tc.allow, tc.reason)
		}
	}
}

func TestCanFreeze(t *testing.T) {
	p := Policy{Admins: []string{"Boss"}}
	if !CanFreeze(p, Actor{Login: "boss"}).Allowed || CanFreeze(p, Actor{Login: "writer"}).Allowed || CanFreeze(p, Actor{Login: "boss", Bot: true}).Allowed {
		t.Fatal("freeze rules wrong")
	}
}

func TestCanMaintainTarget(t *testing.T) {
	perms := fakePerms{levels: map[string]string{"maint": "maintain", "reader": "read"}}
	for _, tc := range []struct {
		actor  Actor
		allow  bool
		reason string
	}{
		{Actor{Login: "maint"}, true, "maintain permission on octo-org/api"},
		{Actor{Login: "reader"}, false, "@reader has read permission on octo-org/api; this needs write"},
		{Actor{Login: "nobody"}, false, "has no permission"},
		{Actor{Login: "maint", Bot: true}, false, "bots"},
	} {
		d, err := CanMaintainTarget(context.Background(), perms, "octo-org/api", tc.actor)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allow || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("%+v: %+v, want allowed=%v with %q", tc.actor, d, tc.allow, tc.reason)
		}
	}
}
