package queue

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics exports the campaign queue's depth for dashboards and for the
// worker autoscaler (the Helm chart's HPA reads campaignbot_queue_depth
// through a metrics adapter). It reads Redis when scraped, at most once per
// cache period however many scrapers ask, and never fails a scrape: a
// Redis that does not answer leaves the queue series out and counts the
// error.
type Metrics struct {
	insp    *asynq.Inspector
	cache   time.Duration
	timeout time.Duration

	depth, tasks, latency *prometheus.Desc
	errors                prometheus.Counter

	mu   sync.Mutex
	at   time.Time
	info *asynq.QueueInfo
}

// MetricsOption adjusts Metrics.
type MetricsOption func(*Metrics)

// WithMetricsCache sets how long one read of Redis answers scrapes (default 5 s).
func WithMetricsCache(d time.Duration) MetricsOption { return func(m *Metrics) { m.cache = d } }

// NewMetrics returns the collector over rdb; register it on the /metrics registry.
func NewMetrics(rdb redis.UniversalClient, opts ...MetricsOption) *Metrics {
	m := &Metrics{
		insp:    asynq.NewInspectorFromRedisClient(rdb),
		cache:   5 * time.Second,
		timeout: 2 * time.Second,
		depth: prometheus.NewDesc("campaignbot_queue_depth",
			"Tasks ready to run and waiting for a worker (Asynq pending). What more worker pods drain; the HPA's metric.",
			[]string{"queue"}, nil),
		tasks: prometheus.NewDesc("campaignbot_queue_tasks",
			"Tasks in the queue by state: pending, active, scheduled (delayed: coalesced updates, throttled publishes), retry, archived (the dead-letter queue).",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("campaignbot_queue_latency_seconds",
			"How long the oldest pending task has waited for a worker.",
			[]string{"queue"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campaignbot_queue_inspect_errors_total",
			Help: "Scrapes that could not read the queue from Redis (the queue series are left out of those scrapes).",
		}),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.depth
	ch <- m.tasks
	ch <- m.latency
	m.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	if info := m.read(); info != nil {
		ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(info.Pending), Tasks)
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(m.tasks, prometheus.GaugeValue, float64(n), Tasks, state)
		}
		ch <- prometheus.MustNewConstMetric(m.latency, prometheus.GaugeValue, info.Latency.Seconds(), Tasks)
	}
	m.errors.Collect(ch)
}

// read returns the queue's info, cached; nil when Redis did not answer.
func (m *Metrics) read() *asynq.QueueInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.info != nil && time.Since(m.at) < m.cache {
		return m.info
	}
	// The Inspector takes no context; bound the read so a hung Redis
	// cannot hang the scrape.
	type result struct {
		info *asynq.QueueInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := m.insp.GetQueueInfo(Tasks)
		done <- result{info, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	select {
	case r := <-done:
		if r.err != nil {
			// asynq reports a queue that never held a task as not found: it is empty.
			if isQueueNotFound(r.err) {
				m.info, m.at = &asynq.QueueInfo{Queue: Tasks}, time.Now()
				return m.info
			}
			m.errors.Inc()
			return nil
		}
		m.info, m.at = r.info, time.Now()
		return m.info
	case <-ctx.Done():
		m.errors.Inc()
		return nil
	}
}

// isQueueNotFound: asynq's inspector reports a queue that never held a
// task with an internal error type; its message is the stable part.
func isQueueNotFound(err error) bool {
	return strings.Contains(err.Error(), "does not exist")
}
