package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/logbuf"
)

// roleEnv makes the test binary a worker process: the suite re-executes
// itself, so a scenario can SIGKILL a real worker process without
// building the binary first.
const (
	roleEnv   = "CAMPAIGNBOT_E2E_ROLE"
	configEnv = "CAMPAIGNBOT_E2E_CONFIG"
)

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "worker" {
		os.Exit(workerMain())
	}
	os.Exit(m.Run())
}

// workerMain runs a worker with the configuration the parent passed
// (JSON in the environment) until SIGTERM or SIGINT.
func workerMain() int {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "e2e worker: configuration:", err)
		return 2
	}
	logger, err := app.NewLogger(os.Stderr, "json", "info")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e worker:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w, err := app.NewWorker(ctx, cfg, logger.With().Str("role", "child-worker").Logger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e worker:", err)
		return 1
	}
	defer w.Close()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e worker:", err)
		return 1
	}
	return 0
}

// childWorker is a worker running as a separate process.
type childWorker struct {
	cmd  *exec.Cmd
	logs *logbuf.Buffer
	done chan struct{}
}

// startChildWorker starts the test binary as a worker with cfg.
func startChildWorker(t *testing.T, cfg config.Config) *childWorker {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=worker", configEnv+"="+string(data))
	cw := &childWorker{cmd: cmd, logs: &logbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = cw.logs, cw.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(cw.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-cw.done
		if t.Failed() {
			path := filepath.Join(t.TempDir(), "worker.log")
			_ = os.WriteFile(path, cw.logs.Bytes(), 0o644)
			t.Logf("child worker %d logs: %s", cmd.Process.Pid, tail(cw.logs.Bytes(), 4000))
		}
	})
	return cw
}

// kill sends SIGKILL: no shutdown, no lease released, active queue entries orphaned.
func (c *childWorker) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
