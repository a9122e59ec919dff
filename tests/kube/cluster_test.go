// Package kube_test runs runner/kube against a real kube-apiserver and
// etcd (built by tools/kube/build.sh): real validation, real Pod Security
// Admission, real RBAC with the Role in deploy/rbac. There is no
// controller manager or kubelet; a test controller plays both through
// the API. Without the binaries every test skips.
package kube_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	adminToken  = "admin-token-0123456789"
	runnerToken = "runner-token-0123456789"
	// runnerUser is what the ServiceAccount's token would authenticate
	// as; a static token stands in for it (no token controller here).
	runnerUser = "system:serviceaccount:campaignbot-jobs:campaignbot-runner"
)

// cluster is one etcd and one kube-apiserver for the whole suite.
type cluster struct {
	dir     string
	host    string
	caFile  string
	procs   []*proc
	skipMsg string
}

// proc is a started binary; done closes when it exits.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// suite is set once by TestMain and read by the tests.
var suite *cluster

func TestMain(m *testing.M) {
	flag.Parse()
	c, err := startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests/kube:", err)
		if c != nil {
			c.stop()
		}
		os.Exit(1)
	}
	suite = c
	code := m.Run()
	c.stop()
	os.Exit(code)
}

// need skips t unless the cluster is running.
func need(t *testing.T) *cluster {
	t.Helper()
	if suite.skipMsg != "" {
		t.Skip(suite.skipMsg)
	}
	return suite
}

func binDir() string {
	if d := os.Getenv("CAMPAIGNBOT_KUBE_BIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "campaignbot", "kube-bin")
}

func startCluster() (*cluster, error) {
	bin := binDir()
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return &cluster{skipMsg: fmt.Sprintf("%s not found in %s: run tools/kube/build.sh (about 5 minutes) "+
				"to build kube-apiserver and etcd, or set CAMPAIGNBOT_KUBE_BIN", b, bin)}, nil
		}
	}
	if testing.Short() {
		return &cluster{skipMsg: "tests/kube: skipped in -short mode"}, nil
	}
	dir, err := os.MkdirTemp("", "campaignbot-kube-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := c.spawn(filepath.Join(bin, "etcd"), "etcd.log",
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--unsafe-no-fsync", "--log-level=error",
	); err != nil {
		return c, err
	}
	if err := waitHTTP(etcdURL+"/health", "", nil, 30*time.Second); err != nil {
		return c, fmt.Errorf("etcd: %w\n%s", err, c.logTail("etcd.log"))
	}

	keyFile, pubFile, err := writeServiceAccountKeys(dir)
	if err != nil {
		return c, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	tokenCSV := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,%s,runner-uid,\"system:serviceaccounts,system:serviceaccounts:campaignbot-jobs\"\n",
		adminToken, runnerToken, runnerUser)
	if err := os.WriteFile(tokens, []byte(tokenCSV), 0o600); err != nil {
		return c, err
	}
	certDir := filepath.Join(dir, "certs")
	c.host = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if err := c.spawn(filepath.Join(bin, "kube-apiserver"), "kube-apiserver.log",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		// No --tls-cert-file: the server writes a self-signed serving
		// certificate for localhost/127.0.0.1 into cert-dir.
		"--cert-dir="+certDir,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pubFile,
		"--service-account-signing-key-file="+keyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=false",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	); err != nil {
		return c, err
	}
	c.caFile = filepath.Join(certDir, "apiserver.crt")
	if err := waitHTTP(c.host+"/readyz", adminToken, c, 90*time.Second); err != nil {
		return c, fmt.Errorf("kube-apiserver: %w\n%s", err, c.logTail("kube-apiserver.log"))
	}
	admin, err := c.clientset(adminToken)
	if err != nil {
		return c, err
	}
	if err := applyDeploy(admin); err != nil {
		return c, fmt.Errorf("apply deploy/rbac: %w", err)
	}
	return c, nil
}

func (c *cluster) spawn(bin, logName string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.dir, logName))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so stopping it reaches its children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.procs = append(c.procs, p)
	return nil
}

func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

func (c *cluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, name))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// restConfig authenticates with a static token and trusts only the
// server's self-signed certificate.
func (c *cluster) restConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            c.host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.caFile},
		QPS:             100, Burst: 200,
	}
}

func (c *cluster) clientset(token string) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.restConfig(token))
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeServiceAccountKeys(dir string) (keyFile, pubFile string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return "", "", err
	}
	return keyFile, pubFile, nil
}

// waitHTTP polls url until it answers 200. With c set it uses the
// cluster's CA, which exists only once the server has written it.
func waitHTTP(url, token string, c *cluster, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		last = probe(url, token, c)
		if last == nil {
			return nil
		}
		if c != nil && exited(c) {
			return fmt.Errorf("process exited: %w", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %w", timeout, last)
}

func probe(url, token string, c *cluster) error {
	client := http.DefaultClient
	if c != nil {
		if _, err := os.Stat(c.caFile); err != nil {
			return err
		}
		rt, err := rest.TransportFor(c.restConfig(token))
		if err != nil {
			return err
		}
		client = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func exited(c *cluster) bool {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return true
		default:
		}
	}
	return false
}
