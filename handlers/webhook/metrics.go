package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a delivery at the endpoint, the label of the deliveries counter.
const (
	OutcomeAccepted         = "accepted"
	OutcomeDuplicate        = "duplicate"
	OutcomeIgnored          = "ignored"
	OutcomeInvalidSignature = "invalid_signature"
	OutcomeBadRequest       = "bad_request"
	OutcomeUnavailable      = "unavailable"
	OutcomeError            = "error"
)

// Metrics counts deliveries by event and outcome.
type Metrics struct {
	deliveries *prometheus.CounterVec
	processed  *prometheus.CounterVec
}

// NewMetrics registers the webhook metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campaignbot_webhook_deliveries_total",
			Help: "GitHub webhook deliveries received, by event and outcome.",
		}, []string{"event", "outcome"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campaignbot_webhook_processed_total",
			Help: "Stored deliveries processed by the worker, by event and result.",
		}, []string{"event", "result"}),
	}
	reg.MustRegister(m.deliveries, m.processed)
	return m
}

func (m *Metrics) delivery(event, outcome string) {
	if m != nil {
		if event == "" {
			event = "unknown"
		}
		m.deliveries.WithLabelValues(event, outcome).Inc()
	}
}

func (m *Metrics) processedOne(event, result string) {
	if m != nil {
		m.processed.WithLabelValues(event, result).Inc()
	}
}
