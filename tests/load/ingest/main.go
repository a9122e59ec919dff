// Command loadgen measures webhook ingestion: it sends signed issue_comment
// deliveries over loopback to a running campaignbot server at a fixed rate
// (latency percentiles) and flat out (maximum throughput), and does the
// same against a bare net/http handler that only checks the HMAC and
// answers 202 — the floor no durable server can beat.
//
//	loadgen floor                       serve the floor on 127.0.0.1 (prints its URL)
//	loadgen bench --url URL [...]       measure URL and a floor it starts itself
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignbot/campaignbot/fixtures/githubfake/contract"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen floor | loadgen bench --url URL --secret S")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "floor":
		err = serveFloor(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func serveFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	secret := fs.String("secret", "bench-secret", "webhook secret")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s/api/github/hook\n", ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || !validSig(r.Header.Get("X-Hub-Signature-256"), body, *secret) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
}

func validSig(header string, body []byte, secret string) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

type result struct {
	sent, ok, failed int64
	latencies        []time.Duration
	elapsed          time.Duration
}

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (r result) throughput() float64 { return float64(r.ok) / r.elapsed.Seconds() }

type client struct {
	url, secret string
	payload     []byte
	http        *http.Client
}

func (c *client) send() (time.Duration, bool) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	m := hmac.New(sha256.New, []byte(c.secret))
	m.Write(c.payload)
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issue_comment")
	req.Header.Set("X-GitHub-Delivery", hex.EncodeToString(id))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return time.Since(start), false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode == http.StatusAccepted
}

// fixedRate sends rate deliveries a second for d, open loop: latency counts
// from the moment a request was due, so a stalled server cannot hide.
func (c *client) fixedRate(rate int, d time.Duration) result {
	var mu sync.Mutex
	var res result
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok := c.send()
			lat := time.Since(due)
			mu.Lock()
			res.sent++
			if ok {
				res.ok++
				res.latencies = append(res.latencies, lat)
			} else {
				res.failed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// flatOut runs workers closed-loop for d: the maximum throughput.
func (c *client) flatOut(workers int, d time.Duration) result {
	var ok, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	lats := make([][]time.Duration, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lat, good := c.send()
				if good {
					ok.Add(1)
					lats[w] = append(lats[w], lat)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res := result{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
	res.sent = res.ok + res.failed
	for _, l := range lats {
		res.latencies = append(res.latencies, l...)
	}
	return res
}

func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	url := fs.String("url", "", "webhook URL of a running campaignbot server")
	secret := fs.String("secret", "bench-secret", "webhook secret the server was started with")
	rate := fs.Int("rate", 300, "deliveries per second for the latency run")
	dur := fs.Duration("duration", 15*time.Second, "length of each run")
	workers := fs.Int("workers", 32, "concurrent senders for the throughput runs")
	_ = fs.Parse(args)
	if *url == "" {
		return fmt.Errorf("--url is required")
	}
	payload, err := contract.ExamplePayload("issue_comment", "created.with-installation")
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *workers * 2, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	floorURL, stopFloor, err := startFloor(*secret)
	if err != nil {
		return err
	}
	defer stopFloor()

	srv := &client{url: *url, secret: *secret, payload: payload, http: hc}
	floor := &client{url: floorURL, secret: *secret, payload: payload, http: hc}
	// Warm up connections and caches.
	srv.flatOut(4, time.Second)
	floor.flatOut(4, time.Second)

	fmt.Printf("payload: issue_comment, %d bytes; loopback; %d senders for throughput runs\n\n", len(payload), *workers)
	rs := srv.fixedRate(*rate, *dur)
	report("campaignbot, fixed rate", *rate, rs)
	rf := floor.fixedRate(*rate, *dur)
	report("HMAC-only floor, fixed rate", *rate, rf)
	ms := srv.flatOut(*workers, *dur)
	report("campaignbot, flat out", 0, ms)
	mf := floor.flatOut(*workers, *dur)
	report("HMAC-only floor, flat out", 0, mf)
	ratio := ms.throughput() / mf.throughput()
	fmt.Printf("\nmax throughput ratio campaignbot/floor: %.1f%% (target >= 40%%)\n", 100*ratio)
	fmt.Printf("p99 at %d/s with durable storage: %s (target < 10ms)\n", *rate, rs.pct(0.99).Round(10*time.Microsecond))
	if rs.failed > 0 || ms.failed > 0 {
		return fmt.Errorf("%d deliveries were not accepted", rs.failed+ms.failed)
	}
	return nil
}

func report(name string, rate int, r result) {
	target := "max"
	if rate > 0 {
		target = fmt.Sprintf("%d/s", rate)
	}
	fmt.Printf("%-30s target %-6s sent %6d ok %6d failed %4d  throughput %8.0f/s  p50 %8s  p99 %8s\n",
		name, target, r.sent, r.ok, r.failed, r.throughput(),
		r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond))
}

// startFloor runs the floor in its own process, as the server runs in its own.
func startFloor(secret string) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "floor", "--secret", secret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("floor did not start: %w", err)
	}
	return strings.TrimSpace(line), func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, nil
}
