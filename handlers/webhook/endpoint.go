package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// Route is where GitHub sends deliveries.
const Route = githubapp.DefaultWebhookRoute

// EndpointConfig configures NewEndpoint.
type EndpointConfig struct {
	Secret   string
	MaxBytes int64
	Handlers []githubapp.EventHandler
	Metrics  *Metrics
}

// NewEndpoint returns the webhook HTTP handler: the signature is checked
// before anything else (401, nothing stored), then go-githubapp's
// dispatcher hands the delivery to sched, and the answer says what happened
// as JSON.
func NewEndpoint(cfg EndpointConfig, sched githubapp.Scheduler) http.Handler {
	m := cfg.Metrics
	// The signature is verified below before the dispatcher runs; giving the
	// dispatcher no secret spares a second HMAC over every body.
	dispatcher := githubapp.NewEventDispatcher(cfg.Handlers, "",
		githubapp.WithScheduler(sched),
		githubapp.WithErrorCallback(func(w http.ResponseWriter, r *http.Request, err error) {
			event := r.Header.Get("X-GitHub-Event")
			log := zerolog.Ctx(r.Context())
			var ve githubapp.ValidationError
			switch {
			case errors.As(err, &ve), errors.Is(err, ErrBadPayload):
				log.Warn().Err(err).Msg("rejected malformed webhook delivery")
				m.delivery(event, OutcomeBadRequest)
				writeJSON(w, http.StatusBadRequest, "invalid webhook payload: "+err.Error())
			case errors.Is(err, ErrUnavailable):
				log.Error().Err(err).Msg("could not store webhook delivery; GitHub will redeliver")
				m.delivery(event, OutcomeUnavailable)
				writeJSON(w, http.StatusServiceUnavailable, "delivery could not be stored, please redeliver")
			default:
				log.Error().Err(err).Msg("unexpected error handling webhook delivery")
				m.delivery(event, OutcomeError)
				writeJSON(w, http.StatusInternalServerError, "internal error")
			}
		}),
		githubapp.WithResponseCallback(func(w http.ResponseWriter, r *http.Request, event string, handled bool) {
			outcome := OutcomeIgnored
			if handled {
				outcome = getOutcome(r.Context())
			}
			m.delivery(event, outcome)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"delivery_id": r.Header.Get("X-GitHub-Delivery"), "event": event, "outcome": outcome,
			})
		}),
	)
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 25 << 20
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		event := r.Header.Get("X-GitHub-Event")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
		if err != nil {
			m.delivery(event, OutcomeBadRequest)
			writeJSON(w, http.StatusRequestEntityTooLarge, "webhook body too large or unreadable")
			return
		}
		// Signature first: nothing about an unsigned request is trusted or stored.
		if err := github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, []byte(cfg.Secret)); err != nil {
			m.delivery(event, OutcomeInvalidSignature)
			zerolog.Ctx(r.Context()).Warn().Str("event", event).Str("delivery_id", r.Header.Get("X-GitHub-Delivery")).
				Msg("rejected webhook delivery with a missing or wrong X-Hub-Signature-256")
			writeJSON(w, http.StatusUnauthorized, "missing or invalid X-Hub-Signature-256")
			return
		}
		if r.Header.Get("X-GitHub-Delivery") == "" {
			m.delivery(event, OutcomeBadRequest)
			writeJSON(w, http.StatusBadRequest, "missing X-GitHub-Delivery header")
			return
		}
		// Verified: drop the signature so the secret-less dispatcher does not check it again.
		r.Header.Del(github.SHA256SignatureHeader)
		r.Header.Del(github.SHA1SignatureHeader)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r = r.WithContext(withOutcome(r.Context()))
		dispatcher.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

type outcomeKey struct{}

func withOutcome(ctx context.Context) context.Context {
	o := OutcomeAccepted
	return context.WithValue(ctx, outcomeKey{}, &o)
}

func setOutcome(ctx context.Context, outcome string) {
	if p, ok := ctx.Value(outcomeKey{}).(*string); ok {
		*p = outcome
	}
}

func getOutcome(ctx context.Context) string {
	if p, ok := ctx.Value(outcomeKey{}).(*string); ok {
		return *p
	}
	return OutcomeAccepted
}
