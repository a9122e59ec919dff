package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Paths inside the sandbox.
const (
	sandboxWorkspace = "/workspace"
	sandboxHome      = "/tmp/home"
)

// systemDirs are bound read-only when they are directories and recreated
// as symlinks when they are symlinks (merged-/usr systems).
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt"}

// etcFiles is the minimal /etc a step sees: users, name resolution, TLS
// roots, the dynamic linker's cache and Debian's alternatives (many
// /usr/bin entries point into /etc/alternatives). No gitconfig, no
// worker secrets.
var etcFiles = []string{
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf",
	"/etc/host.conf", "/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf",
	"/etc/pki", "/etc/localtime", "/etc/mime.types",
}

// bwrapArgs builds the bubblewrap command line that runs argv with the
// workspace at /workspace. The step sees: the system read-only, the
// workspace read-write, a private /tmp (with HOME in it), its own
// /proc and a minimal /dev, no network unless network, new user, pid,
// ipc, uts and cgroup namespaces, no capabilities, a new session (no
// TIOCSTI into the worker's terminal), and death with the worker.
func bwrapArgs(workspace string, network bool, argv []string) []string {
	args := []string{"--unshare-all", "--unshare-user"}
	if network {
		args = append(args, "--share-net")
	}
	args = append(args, "--die-with-parent", "--new-session", "--cap-drop", "ALL")
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		case fi.IsDir():
			args = append(args, "--ro-bind", d, d)
		}
	}
	for _, f := range etcFiles {
		args = append(args, "--ro-bind-try", f, f)
	}
	args = append(args,
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", sandboxHome,
		"--bind", workspace, sandboxWorkspace,
		// The root bwrap builds (where /etc's mount points live) becomes
		// read-only too: only /workspace and /tmp can be written.
		"--remount-ro", "/",
		"--chdir", sandboxWorkspace, "--")
	return append(args, argv...)
}

// probeBwrap runs `true` in the sandbox the steps will get, as the user
// they will run as: bwrap may be installed but unusable (no user
// namespaces in a container, for instance).
func probeBwrap(path, tempDir string, cred *credential) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp(tempDir, "campaignbot-bwrap-probe-")
	if err != nil {
		return fmt.Errorf("probe bubblewrap: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := cred.chown(dir); err != nil {
		return fmt.Errorf("probe bubblewrap: %w", err)
	}
	cmd := exec.CommandContext(ctx, path, bwrapArgs(dir, false, []string{"sh", "-ec", "touch /workspace/ok"})...)
	cmd.Env = []string{"PATH=" + basePath}
	cmd.SysProcAttr = cred.sysProcAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("probe bubblewrap: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(dir + "/ok"); err != nil {
		return fmt.Errorf("probe bubblewrap: the workspace is not writable inside the sandbox: %w", err)
	}
	return nil
}

// bwrapVersion is for the isolation description only.
func bwrapVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "bubblewrap"
	}
	return strings.TrimSpace(string(out))
}
