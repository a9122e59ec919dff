package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store/storetest"
)

func TestMetricsReportQueueDepth(t *testing.T) {
	ctx := context.Background()
	rdb, err := queue.OpenRedis(ctx, storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	m := queue.NewMetrics(rdb, queue.WithMetricsCache(0))
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)

	// A queue that never held a task is empty, not an error.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP campaignbot_queue_depth Tasks ready to run and waiting for a worker (Asynq pending). What more worker pods drain; the HPA's metric.
# TYPE campaignbot_queue_depth gauge
campaignbot_queue_depth{queue="campaign_tasks"} 0
`), "campaignbot_queue_depth"); err != nil {
		t.Fatal(err)
	}

	q := queue.NewClient(rdb, 3)
	defer q.Close()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := q.Enqueue(ctx, "test:noop", id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Enqueue(ctx, "test:noop", "later", nil, asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP campaignbot_queue_depth Tasks ready to run and waiting for a worker (Asynq pending). What more worker pods drain; the HPA's metric.
# TYPE campaignbot_queue_depth gauge
campaignbot_queue_depth{queue="campaign_tasks"} 3
# HELP campaignbot_queue_tasks Tasks in the queue by state: pending, active, scheduled (delayed: coalesced updates, throttled publishes), retry, archived (the dead-letter queue).
# TYPE campaignbot_queue_tasks gauge
campaignbot_queue_tasks{queue="campaign_tasks",state="active"} 0
campaignbot_queue_tasks{queue="campaign_tasks",state="archived"} 0
campaignbot_queue_tasks{queue="campaign_tasks",state="pending"} 3
campaignbot_queue_tasks{queue="campaign_tasks",state="retry"} 0
campaignbot_queue_tasks{queue="campaign_tasks",state="scheduled"} 1
`), "campaignbot_queue_depth", "campaignbot_queue_tasks"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m, "campaignbot_queue_latency_seconds"); n != 1 {
		t.Fatalf("latency series: %d", n)
	}
}

// A Redis that does not answer leaves the queue series out and counts the
// error; the scrape itself succeeds.
func TestMetricsSurviveRedisDown(t *testing.T) {
	ctx := context.Background()
	rdb, err := queue.OpenRedis(ctx, storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	m := queue.NewMetrics(rdb, queue.WithMetricsCache(0))
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	rdb.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("the scrape fails with Redis down: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "campaignbot_queue_depth" {
			t.Fatal("a depth reported without Redis")
		}
	}
	if got := testutil.ToFloat64(collectorOnly(m, "campaignbot_queue_inspect_errors_total")); got < 1 {
		t.Fatalf("inspect errors = %v", got)
	}
}

// collectorOnly narrows m to the one metric named, for testutil.ToFloat64.
func collectorOnly(m prometheus.Collector, name string) prometheus.Collector {
	return filtered{m, name}
}

type filtered struct {
	c    prometheus.Collector
	name string
}

func (f filtered) Describe(ch chan<- *prometheus.Desc) { f.c.Describe(ch) }
func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 32)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+f.name+`"`) {
			ch <- m
		}
	}
}
