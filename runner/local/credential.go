package local

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// credential is who steps run as. A root worker hands steps to an
// unprivileged uid: root is exempt from RLIMIT_NPROC (no pids limit) and
// could write anywhere without a sandbox. A non-root worker runs steps as
// itself (nil credential).
type credential struct{ uid, gid int }

func newCredential(uid, gid int) *credential {
	if os.Geteuid() != 0 {
		return nil
	}
	return &credential{uid: uid, gid: gid}
}

// sysProcAttr starts a step in its own process group (so a timeout kills
// all of it), killed if the worker dies, as the step user.
func (c *credential) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if c != nil {
		a.Credential = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid), NoSetGroups: false, Groups: []uint32{}}
	}
	return a
}

// chown gives the tree at dir to the step user.
func (c *credential) chown(dir string) error {
	if c == nil {
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, c.uid, c.gid)
	})
	if err != nil {
		return fmt.Errorf("hand the workspace to uid %d: %w", c.uid, err)
	}
	return nil
}

func (c *credential) String() string {
	if c == nil {
		return fmt.Sprintf("the worker's uid %d", os.Geteuid())
	}
	return fmt.Sprintf("uid %d", c.uid)
}

// canReach checks that the step user can traverse every directory above
// task directories created in dir (os.TempDir() when empty): a root
// worker's private directory would make every step fail to start.
func (c *credential) canReach(dir string) error {
	if c == nil {
		return nil
	}
	if dir == "" {
		dir = os.TempDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("temp dir %s: %w", dir, err)
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("temp dir %s: %w", dir, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		reachable := fi.Mode().Perm()&0o001 != 0 || (ok && int(st.Uid) == c.uid) || (ok && int(st.Gid) == c.gid && fi.Mode().Perm()&0o010 != 0)
		if !reachable {
			return fmt.Errorf("temp dir %s: steps run as uid %d, which cannot traverse %s (mode %v)", dir, c.uid, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
