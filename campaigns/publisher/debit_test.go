package publisher

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Writes made outside the publisher take their place in the installation's
// windows: the publisher waits for them to age out instead of running into
// GitHub's secondary limit.
func TestDebitLeavesRoomForOtherWrites(t *testing.T) {
	e := newEnv(t, envOpts{repos: 2, cfg: Config{ContentPerMinute: 10, ContentPerHour: 100}})
	if Charged(e.ctx) || !Charged(MarkCharged(e.ctx)) {
		t.Fatal("Charged must report the publisher's mark and only it")
	}
	// Eight dashboard updates and replies this minute: a publish of 5 units does not fit in 10.
	if err := e.pub.Debit(e.ctx, e.org.InstallationID, 8); err != nil {
		t.Fatal(err)
	}
	in := e.input(e.repo(0), 1, result(e.baseSHA(e.repo(0)), textChange("x\n")))
	_, err := e.pub.Publish(e.ctx, e.gh, in)
	var th *Throttled
	if !errors.As(err, &th) || th.Until.Sub(e.clock.Now()) > time.Minute {
		t.Fatalf("publish after 8 debited units of 10: %v, want throttled for under a minute", err)
	}
	// Another installation's budget is untouched; a debit of nothing is nothing.
	if err := e.pub.Debit(context.Background(), e.org.InstallationID+1, 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(th.Until)
	out, err := e.pub.Publish(e.ctx, e.gh, in)
	if err != nil {
		t.Fatalf("publish once the debited units aged out: %v", err)
	}
	e.checkPR(in.Repository, 1, in.Result, out)
}
