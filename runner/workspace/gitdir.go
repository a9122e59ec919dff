package workspace

import (
	"fmt"
	"os"
	"path/filepath"
)

// safeConfig is the whole .git/config of a workspace. Clone writes it and
// Collect writes it again before running git, because a step may have
// edited .git/config (core.fsmonitor, filter drivers, include.path...) to
// make the git that Collect runs outside the sandbox execute a command.
const safeConfig = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n"

// initGitDir creates dir/.git by hand: the same files `git init
// --template=` writes (no hooks, no sample files), without starting a
// process.
func initGitDir(dir string) error {
	gd := filepath.Join(dir, ".git")
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags", "info"} {
		if err := os.MkdirAll(filepath.Join(gd, d), 0o755); err != nil {
			return fmt.Errorf("create git directory: %w", err)
		}
	}
	files := map[string]string{
		"HEAD":   "ref: refs/heads/main\n",
		"config": safeConfig,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(gd, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("create git directory: %w", err)
		}
	}
	return nil
}

// resetGitDir undoes what a step may have done to .git to subvert the
// git that runs after it: the config is rewritten, hooks, info/attributes
// and alternates are removed. .git must still be a real directory (not a
// symlink or a "gitdir:" file pointing elsewhere).
func resetGitDir(dir, baseSHA string) error {
	gd := filepath.Join(dir, ".git")
	fi, err := os.Lstat(gd)
	if err != nil {
		return fmt.Errorf("inspect .git: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf(".git is no longer a directory (mode %v)", fi.Mode())
	}
	for _, rel := range []string{"hooks", "info/attributes", "info/exclude", "objects/info/alternates", "objects/info/http-alternates", "commondir", "config.worktree"} {
		if err := os.RemoveAll(filepath.Join(gd, rel)); err != nil {
			return fmt.Errorf("reset .git/%s: %w", rel, err)
		}
	}
	for name, content := range map[string]string{"config": safeConfig, "HEAD": baseSHA + "\n"} {
		p := filepath.Join(gd, name)
		// Remove first: the step may have replaced the file with a symlink.
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("reset .git/%s: %w", name, err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("reset .git/%s: %w", name, err)
		}
	}
	return nil
}
