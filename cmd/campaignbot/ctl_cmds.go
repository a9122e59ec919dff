package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/campaignbot/campaignbot/handlers/api"
)

// ctlCommand is one API command of `campaignbot ctl`.
type ctlCommand struct {
	args  string // usage of the positional arguments
	help  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, e *ctlEnv) error
}

// ctlEnv is what a command runs with.
type ctlEnv struct {
	c              *client
	opts           ctlOptions
	args           []string
	stdout, stderr io.Writer
}

func (e *ctlEnv) json() bool { return e.opts.output == "json" }

func (e *ctlEnv) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ctlCommands are the API commands, in the order usage lists them.
var ctlCommandOrder = []string{"plan", "list", "status", "changesets", "logs", "pause", "resume", "retry", "cancel", "audit", "tokens", "whoami"}

func ctlCommands() map[string]ctlCommand {
	return map[string]ctlCommand{
		"plan":       {"FILE", "validate a spec on the server and preview its targets and diff (FILE - reads stdin)", planCmd},
		"list":       {"", "list campaigns with their latest run", listCmd},
		"status":     {"NAME", "the campaign's latest run as a dashboard; --watch follows it live", statusCmd},
		"changesets": {"NAME", "the run's changesets; --state failed, --repo 'org/api-*'", changesetsCmd},
		"logs":       {"TASK", "a changeset's logs (the stored logs, or the tail kept with the task)", logsCmd},
		"pause":      {"NAME", "pause the campaign's latest run", actionCmd("pause")},
		"resume":     {"NAME", "resume the campaign's paused run; --wait follows it until nothing is in flight", actionCmd("resume")},
		"retry":      {"NAME", "queue the failed changesets again (--repo for one); --wait follows them, exit 1 if they fail again", actionCmd("retry")},
		"cancel":     {"NAME", "cancel the run and close its open pull requests (needs --yes)", actionCmd("cancel")},
		"audit":      {"", "the audit log, newest first; --campaign NAME, --actor WHO", auditCmd},
		"tokens":     {"list|revoke ID", "API tokens (write scope); create them with `campaignbot tokens create`", tokensCmd},
		"whoami":     {"", "the token in use and its scope", whoamiCmd},
	}
}

// runCtlAPI runs one API command.
func runCtlAPI(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	cmd, ok := ctlCommands()[name]
	if !ok {
		fmt.Fprint(stderr, ctlUsageText())
		return exitError{exitUsage, fmt.Errorf("ctl: unknown command %q", name)}
	}
	fs := flag.NewFlagSet("ctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts ctlOptions
	addCtlFlags(fs, &opts)
	run := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: campaignbot ctl %s [flags] %s\n  %s\n\nflags:\n", name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{exitUsage, err}
	}
	c, err := opts.client()
	if err != nil {
		return err
	}
	return asExit(run(ctx, &ctlEnv{c: c, opts: opts, args: pos, stdout: stdout, stderr: stderr}))
}

func ctlUsageText() string {
	var b strings.Builder
	b.WriteString(ctlUsage)
	cmds := ctlCommands()
	for _, n := range ctlCommandOrder {
		c := cmds[n]
		fmt.Fprintf(&b, "  %-28s %s\n", n+" "+c.args, c.help)
	}
	b.WriteString(`
API commands take --server URL (CAMPAIGN_API_URL), --token TOKEN (CAMPAIGN_API_TOKEN),
-o human|json and --timeout. Exit codes: 0 ok, 1 failed, 2 usage, 3 auth, 4 not found,
5 conflict with the run's state, 6 server unreachable or unavailable, 7 --wait timed out
(docs/api/cli.md).
`)
	return b.String()
}

// wantArgs checks the number of positional arguments.
func (e *ctlEnv) wantArgs(n int, what string) error {
	if len(e.args) != n {
		return exitError{exitUsage, fmt.Errorf("want %s, got %d argument(s)", what, len(e.args))}
	}
	return nil
}

func planCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	path := fs.String("path", "", "file name for diagnostics (default campaigns/<name>.yaml)")
	limit := fs.Int("show", 20, "how many target repositories to list (all of them with -o json)")
	noDiff := fs.Bool("no-diff", false, "do not print the diff against the latest version")
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(1, "one spec file (or - for stdin)"); err != nil {
			return err
		}
		var data []byte
		var err error
		if e.args[0] == "-" {
			data, err = io.ReadAll(io.LimitReader(os.Stdin, 4<<20))
		} else {
			data, err = os.ReadFile(e.args[0])
		}
		if err != nil {
			return exitError{exitUsage, fmt.Errorf("read the spec: %w", err)}
		}
		var p api.PlanPreview
		stop := spinner(e.stderr, "resolving targets")
		err = e.c.send(ctx, "POST", "plan", api.PlanRequest{Spec: string(data), Path: *path}, &p)
		stop()
		if err != nil {
			return err
		}
		if e.json() {
			if err := e.printJSON(p); err != nil {
				return err
			}
		} else {
			renderPlan(e.stdout, p, *limit, !*noDiff)
		}
		switch {
		case !p.Valid:
			return exitError{exitFailed, fmt.Errorf("%s is not valid: %d error(s)", e.args[0], len(p.Diagnostics))}
		case p.TargetsError != "":
			return exitError{exitFailed, fmt.Errorf("GitHub refused the targets: %s", p.TargetsError)}
		}
		return nil
	}
}

func listCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(0, "no arguments"); err != nil {
			return err
		}
		camps, err := all[api.Campaign](ctx, e.c, "campaigns", nil, 1<<20, nil)
		if err != nil {
			return err
		}
		if e.json() {
			return e.printJSON(camps)
		}
		if len(camps) == 0 {
			fmt.Fprintln(e.stdout, "no campaigns yet: merge a spec into the control repository")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tVERSION\tRUN\tRUN STATE")
		for _, c := range camps {
			run, state := "-", "-"
			if c.LatestRun != nil {
				run, state = strconv.FormatInt(c.LatestRun.ID, 10), c.LatestRun.State
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.Name, c.State, c.LatestVersion, run, state)
		}
		return tw.Flush()
	}
}

// latestRun finds the run a command acts on: --run, else the campaign's latest.
func latestRun(ctx context.Context, e *ctlEnv, name string, runID int64) (api.Run, error) {
	if runID > 0 {
		var r api.Run
		if err := e.c.get(ctx, "runs/"+strconv.FormatInt(runID, 10), nil, &r); err != nil {
			return r, err
		}
		if r.Campaign != name {
			return r, exitError{exitUsage, fmt.Errorf("run %d belongs to campaign %s, not %s", runID, r.Campaign, name)}
		}
		return r, nil
	}
	var c api.Campaign
	if err := e.c.get(ctx, "campaigns/"+url.PathEscape(name), nil, &c); err != nil {
		return api.Run{}, err
	}
	if c.LatestRun == nil {
		return api.Run{}, exitError{exitNotFound, fmt.Errorf("campaign %s has not run yet (latest version %d)", name, c.LatestVersion)}
	}
	var r api.Run
	err := e.c.get(ctx, "runs/"+strconv.FormatInt(c.LatestRun.ID, 10), nil, &r)
	return r, err
}

// statusView is `ctl status`'s data (and its -o json).
type statusView struct {
	Run    api.Run         `json:"run"`
	Failed []api.Changeset `json:"failed"`
}

func loadStatus(ctx context.Context, e *ctlEnv, name string, runID int64, failedMax int) (statusView, error) {
	r, err := latestRun(ctx, e, name, runID)
	if err != nil {
		return statusView{}, err
	}
	v := statusView{Run: r, Failed: []api.Changeset{}}
	if r.Counts["failed"] > 0 && failedMax > 0 {
		q := url.Values{"state": {"failed"}}
		var page api.Page[api.Changeset]
		q.Set("limit", strconv.Itoa(min(failedMax, api.MaxLimit)))
		if err := e.c.get(ctx, fmt.Sprintf("runs/%d/changesets", r.ID), q, &page); err != nil {
			return v, err
		}
		v.Failed = page.Items
	}
	return v, nil
}

func statusCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	watch := fs.Bool("watch", false, "keep the dashboard current until the run finishes (Ctrl-C stops)")
	every := fs.Duration("interval", 5*time.Second, "how often --watch refreshes")
	runID := fs.Int64("run", 0, "a run of the campaign other than the latest")
	failed := fs.Int("failed", 10, "how many failed changesets to show")
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(1, "a campaign name"); err != nil {
			return err
		}
		if *every < time.Second {
			return exitError{exitUsage, errors.New("--interval must be at least 1s")}
		}
		name := e.args[0]
		if !*watch {
			v, err := loadStatus(ctx, e, name, *runID, *failed)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(v)
			}
			renderStatus(e.stdout, v, time.Now())
			return nil
		}
		tty := isTerminal(e.stdout)
		last := ""
		for {
			v, err := loadStatus(ctx, e, name, *runID, *failed)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil
			case err != nil && retryable(err):
				// A blip while watching: say so and keep watching.
				fmt.Fprintf(e.stderr, "campaignbot: %v (retrying in %s)\n", err, *every)
			case err != nil:
				return err
			default:
				var b strings.Builder
				if e.json() {
					j, _ := json.Marshal(v)
					b.Write(j)
					b.WriteByte('\n')
				} else {
					renderStatus(&b, v, time.Now())
				}
				// Without a terminal, print only changes (logs stay readable).
				if out := b.String(); tty || stripClock(out) != stripClock(last) {
					if tty && !e.json() {
						fmt.Fprint(e.stdout, "\x1b[H\x1b[2J")
					}
					fmt.Fprint(e.stdout, out)
					last = out
				}
				if final(v.Run.State) {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*every):
			}
		}
	}
}

// stripClock drops the "as of" line so an unchanged dashboard compares equal.
func stripClock(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "as of ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func final(state string) bool {
	return state == "completed" || state == "cancelled" || state == "failed"
}

func changesetsCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	var states multiFlag
	fs.Var(&states, "state", "keep changesets in this state (repeat or comma-separate: failed,published)")
	repo := fs.String("repo", "", "keep repositories matching owner/name; * matches anything")
	runID := fs.Int64("run", 0, "a run of the campaign other than the latest")
	maxN := fs.Int("max", 100000, "stop after this many changesets")
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(1, "a campaign name"); err != nil {
			return err
		}
		r, err := latestRun(ctx, e, e.args[0], *runID)
		if err != nil {
			return err
		}
		q := url.Values{}
		if len(states) > 0 {
			q.Set("state", strings.Join(states, ","))
		}
		if *repo != "" {
			q.Set("repo", *repo)
		}
		bar := newProgress(e.stderr, "changesets", r.Total)
		items, err := all[api.Changeset](ctx, e.c, fmt.Sprintf("runs/%d/changesets", r.ID), q, max(1, *maxN), bar.set)
		bar.done()
		if err != nil {
			return err
		}
		if e.json() {
			return e.printJSON(items)
		}
		if len(items) == 0 {
			fmt.Fprintf(e.stdout, "no changesets of run %d match\n", r.ID)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REPOSITORY\tSTATE\tPR\tTASK\tERROR")
		for _, c := range items {
			pr := "-"
			if c.PRURL != "" {
				pr = c.PRURL
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Repository, c.State, pr, c.ID, oneLine(c.Error, 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d changeset(s) of run %d\n", len(items), r.ID)
		return nil
	}
}

func logsCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	tailOnly := fs.Bool("tail", false, "print only the tail kept with the task, even when full logs are stored")
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(1, "a changeset (task) id"); err != nil {
			return err
		}
		id := e.args[0]
		var l api.Logs
		if err := e.c.get(ctx, "changesets/"+url.PathEscape(id)+"/logs", nil, &l); err != nil {
			return err
		}
		if e.json() {
			return e.printJSON(l)
		}
		fmt.Fprintf(e.stderr, "%s · %s", l.Repository, l.State)
		if l.Error != "" {
			fmt.Fprintf(e.stderr, " · %s", l.Error)
		}
		fmt.Fprintln(e.stderr)
		if l.LogsArtifact != nil && !*tailOnly {
			resp, err := e.c.open(ctx, "GET", "changesets/"+url.PathEscape(id)+"/logs/raw", nil, nil, "")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(e.stdout, resp.Body); err != nil {
				return fmt.Errorf("read the logs: %w", err)
			}
			return nil
		}
		if l.LogTail == "" {
			fmt.Fprintln(e.stderr, "(no logs recorded)")
			return nil
		}
		fmt.Fprint(e.stdout, l.LogTail)
		if !strings.HasSuffix(l.LogTail, "\n") {
			fmt.Fprintln(e.stdout)
		}
		return nil
	}
}

// defaultWaitTimeout bounds --wait: later waves wait for CI and held
// publishes for people, so a run may have work in flight for hours.
const defaultWaitTimeout = 30 * time.Minute

// actionCmd builds pause, resume, retry and cancel.
func actionCmd(action string) func(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	return func(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
		reason := new(string)
		repo := new(string)
		yes := new(bool)
		wait := new(bool)
		waitTimeout := new(time.Duration)
		runID := fs.Int64("run", 0, "a run of the campaign other than the latest")
		switch action {
		case "pause", "cancel":
			fs.StringVar(reason, "reason", "", "why (kept in the audit log and shown on the dashboard)")
		}
		if action == "retry" {
			fs.StringVar(repo, "repo", "", "retry only this repository (owner/name)")
		}
		if action == "cancel" {
			fs.BoolVar(yes, "yes", false, "confirm: cancelling closes the run's open pull requests")
		}
		if action == "resume" || action == "retry" {
			fs.BoolVar(wait, "wait", false, "follow the run with a progress bar until nothing is in flight (see --wait-timeout)")
			fs.DurationVar(waitTimeout, "wait-timeout", defaultWaitTimeout, "give up --wait after this long (exit 7)")
		}
		return func(ctx context.Context, e *ctlEnv) error {
			if err := e.wantArgs(1, "a campaign name"); err != nil {
				return err
			}
			if action == "cancel" && !*yes {
				return exitError{exitUsage, errors.New("cancel closes every open pull request of the run: add --yes to confirm")}
			}
			if *wait && *waitTimeout <= 0 {
				return exitError{exitUsage, errors.New("--wait-timeout must be positive")}
			}
			r, err := latestRun(ctx, e, e.args[0], *runID)
			if err != nil {
				return err
			}
			// The changesets a retry puts back, to tell afterwards which of
			// them failed again.
			var retried map[string]string
			if *wait && action == "retry" {
				if retried, err = failedChangesets(ctx, e, r.ID, *repo); err != nil {
					return err
				}
			}
			var res api.ActionResult
			err = e.c.send(ctx, "POST", fmt.Sprintf("runs/%d/%s", r.ID, action), api.ActionRequest{Reason: *reason, Repository: *repo}, &res)
			if err != nil {
				return err
			}
			if e.json() {
				if err := e.printJSON(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(e.stdout, describeAction(res, r.State))
			}
			if !*wait || (action == "retry" && res.Requeued == 0) {
				return nil
			}
			end, err := follow(ctx, e, res.Run, *waitTimeout)
			if err != nil {
				return err
			}
			return waitOutcome(ctx, e, action, res.Run, end, retried)
		}
	}
}

// failedChangesets are the run's failed changesets (of repo, when set),
// repository by id.
func failedChangesets(ctx context.Context, e *ctlEnv, runID int64, repo string) (map[string]string, error) {
	q := url.Values{"state": {"failed"}}
	if repo != "" {
		q.Set("repo", repo)
	}
	items, err := all[api.Changeset](ctx, e.c, fmt.Sprintf("runs/%d/changesets", runID), q, 1<<20, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, c := range items {
		out[c.ID] = c.Repository
	}
	return out, nil
}

// waitOutcome turns how a followed run ended into the exit status:
// success when nothing is in flight and the run kept going; 1 when it
// was paused, cancelled or failed meanwhile, or when changesets a retry
// put back failed again.
func waitOutcome(ctx context.Context, e *ctlEnv, action string, before, end api.Run, retried map[string]string) error {
	switch {
	case end.State == "paused" && before.State == "paused":
		// Retrying in a paused run: the changesets wait for the resume.
		if !e.json() {
			fmt.Fprintf(e.stdout, "run %d is paused: the retried changesets run when it resumes (campaignbot ctl resume %s)\n", end.ID, end.Campaign)
		}
		return nil
	case end.State == "paused":
		return exitError{exitFailed, fmt.Errorf("run %d was paused while waiting: %s", end.ID, end.PausedReason)}
	case end.State == "cancelled" || end.State == "failed":
		return exitError{exitFailed, fmt.Errorf("run %d is %s", end.ID, end.State)}
	}
	if action != "retry" || len(retried) == 0 {
		return nil
	}
	now, err := failedChangesets(ctx, e, end.ID, "")
	if err != nil {
		return err
	}
	var again []string
	for id, repo := range retried {
		if _, ok := now[id]; ok {
			again = append(again, repo+" "+id)
		}
	}
	if len(again) == 0 {
		return nil
	}
	sort.Strings(again)
	for _, a := range again {
		fmt.Fprintf(e.stderr, "failed again: %s\n", a)
	}
	return exitError{exitFailed, fmt.Errorf("%d of %d retried changeset(s) failed again: campaignbot ctl changesets %s --state failed, campaignbot ctl logs TASK",
		len(again), len(retried), end.Campaign)}
}

// followEvery is how often --wait reads the run.
const followEvery = time.Second

// follow polls a run with a progress bar until nothing is in flight
// (no changeset pending, queued, running, patch_ready or publishing), the
// run is paused or has ended, or timeout passes (exit 7). Interrupting
// it (Ctrl-C) stops following without an error: the action was taken.
func follow(ctx context.Context, e *ctlEnv, r api.Run, timeout time.Duration) (api.Run, error) {
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
	defer cancel()
	bar := newProgress(e.stderr, fmt.Sprintf("run %d", r.ID), r.Total)
	defer bar.done()
	for {
		bar.total = r.Total
		bar.set(settled(r))
		if inFlight(r) == 0 || final(r.State) || r.State == "paused" {
			bar.done()
			if !e.json() {
				fmt.Fprintf(e.stdout, "run %d is %s: %s\n", r.ID, r.State, countsLine(r))
			}
			return r, nil
		}
		select {
		case <-wctx.Done():
			return r, waitEnded(ctx, wctx, r, timeout)
		case <-time.After(followEvery):
		}
		var next api.Run
		err := e.c.get(wctx, fmt.Sprintf("runs/%d", r.ID), nil, &next)
		switch {
		case err == nil:
			r = next
		case wctx.Err() != nil:
			return r, waitEnded(ctx, wctx, r, timeout)
		case retryable(err):
			// A blip (the server restarting): keep following.
			fmt.Fprintf(e.stderr, "campaignbot: %v (still waiting)\n", err)
		default:
			return r, err
		}
	}
}

var errWaitTimeout = errors.New("--wait-timeout passed")

// waitEnded says why following stopped early: the timeout (exit 7) or
// the user (no error).
func waitEnded(parent, wctx context.Context, r api.Run, timeout time.Duration) error {
	if parent.Err() != nil || !errors.Is(context.Cause(wctx), errWaitTimeout) {
		return nil
	}
	return exitError{exitWaitTimeout, fmt.Errorf("gave up waiting after %s: run %d is %s with %d changeset(s) in flight (%s); campaignbot ctl status %s",
		timeout, r.ID, r.State, inFlight(r), countsLine(r), r.Campaign)}
}

func auditCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	campaign := fs.String("campaign", "", "entries about this campaign")
	actor := fs.String("actor", "", "entries by this actor (api:<token name>, a GitHub login)")
	limit := fs.Int("limit", 50, "how many entries")
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(0, "no arguments (use --campaign NAME)"); err != nil {
			return err
		}
		q := url.Values{}
		if *campaign != "" {
			q.Set("campaign", *campaign)
		}
		if *actor != "" {
			q.Set("actor", *actor)
		}
		entries, err := all[api.AuditEntry](ctx, e.c, "audit", q, max(1, *limit), nil)
		if err != nil {
			return err
		}
		if e.json() {
			return e.printJSON(entries)
		}
		if len(entries) == 0 {
			fmt.Fprintln(e.stdout, "no audit entries match")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tACTOR\tACTION\tTARGET\tOUTCOME\tREASON")
		for _, a := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.At.Local().Format("2006-01-02 15:04:05"), a.Actor, a.Action, a.Target, a.Outcome, oneLine(a.Reason, 60))
		}
		return tw.Flush()
	}
}

func tokensCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	return func(ctx context.Context, e *ctlEnv) error {
		if len(e.args) == 0 {
			return exitError{exitUsage, errors.New("want tokens list or tokens revoke ID (create tokens with `campaignbot tokens create`)")}
		}
		switch e.args[0] {
		case "list":
			if len(e.args) != 1 {
				return exitError{exitUsage, errors.New("tokens list takes no arguments")}
			}
			toks, err := all[api.Token](ctx, e.c, "tokens", nil, 1<<20, nil)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(toks)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tREVOKED")
			for _, t := range toks {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.CreatedAt.Local().Format("2006-01-02 15:04"), when(t.LastUsedAt), when(t.RevokedAt))
			}
			return tw.Flush()
		case "revoke":
			if len(e.args) != 2 {
				return exitError{exitUsage, errors.New("want tokens revoke ID (see tokens list)")}
			}
			id, err := strconv.ParseInt(e.args[1], 10, 64)
			if err != nil || id < 1 {
				return exitError{exitUsage, fmt.Errorf("%q is not a token id (see tokens list)", e.args[1])}
			}
			var t api.Token
			if err := e.c.send(ctx, "DELETE", fmt.Sprintf("tokens/%d", id), nil, &t); err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(t)
			}
			fmt.Fprintf(e.stdout, "revoked token %d (%s, %s)\n", t.ID, t.Name, t.Scope)
			return nil
		case "create":
			return exitError{exitUsage, errors.New("tokens are created by an operator with database access: campaignbot tokens create --name NAME --scope read|write")}
		}
		return exitError{exitUsage, fmt.Errorf("unknown tokens command %q: list or revoke", e.args[0])}
	}
}

func whoamiCmd(fs *flag.FlagSet) func(context.Context, *ctlEnv) error {
	return func(ctx context.Context, e *ctlEnv) error {
		if err := e.wantArgs(0, "no arguments"); err != nil {
			return err
		}
		var t api.Token
		if err := e.c.get(ctx, "whoami", nil, &t); err != nil {
			return err
		}
		if e.json() {
			return e.printJSON(t)
		}
		fmt.Fprintf(e.stdout, "token %q (id %d), scope %s, server %s\n", t.Name, t.ID, t.Scope, e.c.base)
		return nil
	}
}

// multiFlag collects a repeatable, comma-separated flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}
