package store

import (
	"context"
	"fmt"
	"sync"
)

// DeliveryBatcher stores deliveries from many concurrent webhook requests
// in shared INSERTs: one statement and one commit (one WAL flush) per
// batch instead of per delivery. Each caller still waits until its own row
// is committed, so nothing is acknowledged before it is durable.
type DeliveryBatcher struct {
	store    *Store
	in       chan *batchReq
	maxBatch int
	wg       sync.WaitGroup
	stop     chan struct{}
}

type batchReq struct {
	d    Delivery
	done chan batchRes
}

type batchRes struct {
	state    string
	inserted bool
	err      error
}

// NewDeliveryBatcher starts flushers goroutines writing batches of up to
// maxBatch deliveries. Close stops them.
func NewDeliveryBatcher(s *Store, flushers, maxBatch int) *DeliveryBatcher {
	b := &DeliveryBatcher{store: s, in: make(chan *batchReq, flushers*maxBatch), maxBatch: maxBatch, stop: make(chan struct{})}
	for range flushers {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

// Close stops the flushers after the batches in flight.
func (b *DeliveryBatcher) Close() {
	close(b.stop)
	b.wg.Wait()
}

// InsertDelivery has Store.InsertDelivery's contract.
func (b *DeliveryBatcher) InsertDelivery(ctx context.Context, d Delivery) (string, bool, error) {
	r := &batchReq{d: d, done: make(chan batchRes, 1)}
	select {
	case b.in <- r:
	case <-ctx.Done():
		return "", false, fmt.Errorf("store delivery %s: %w", d.ID, ctx.Err())
	case <-b.stop:
		return "", false, fmt.Errorf("store delivery %s: batcher closed", d.ID)
	}
	// Once queued the request is always answered; the flusher does not
	// watch the caller's context, so a stored row is never orphaned silently.
	res := <-r.done
	return res.state, res.inserted, res.err
}

func (b *DeliveryBatcher) loop() {
	defer b.wg.Done()
	for {
		var first *batchReq
		select {
		case first = <-b.in:
		case <-b.stop:
			return
		}
		batch := []*batchReq{first}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.flush(batch)
	}
}

func (b *DeliveryBatcher) flush(batch []*batchReq) {
	// The first request for an id in the batch carries it; repeats of the
	// same id answer as duplicates of a pending row.
	seen := make(map[string]bool, len(batch))
	var uniq []*batchReq
	ids, events, actions, repos := []string{}, []string{}, []string{}, []string{}
	var insts []*int64
	var payloads [][]byte
	for _, r := range batch {
		if seen[r.d.ID] {
			continue
		}
		seen[r.d.ID] = true
		uniq = append(uniq, r)
		ids = append(ids, r.d.ID)
		events = append(events, r.d.Event)
		actions = append(actions, r.d.Action)
		repos = append(repos, r.d.Repository)
		var inst *int64
		if r.d.InstallationID != 0 {
			v := r.d.InstallationID
			inst = &v
		}
		insts = append(insts, inst)
		payloads = append(payloads, r.d.Payload)
	}
	results := make(map[string]batchRes, len(uniq))
	rows, err := b.store.pool.Query(context.Background(), `
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bytea[])
        AS t(delivery_id, event, action, installation_id, repository, payload)
), ins AS (
    INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, repository, payload)
    SELECT delivery_id, event, action, installation_id, repository, payload FROM input
    ON CONFLICT (delivery_id) DO NOTHING
    RETURNING delivery_id, state
)
SELECT i.delivery_id, ins.delivery_id IS NOT NULL, COALESCE(ins.state, w.state, 'pending')
FROM input i
LEFT JOIN ins ON ins.delivery_id = i.delivery_id
LEFT JOIN webhook_deliveries w ON w.delivery_id = i.delivery_id`,
		ids, events, actions, insts, repos, payloads)
	if err == nil {
		for rows.Next() {
			var id, state string
			var inserted bool
			if err = rows.Scan(&id, &inserted, &state); err != nil {
				break
			}
			results[id] = batchRes{state: state, inserted: inserted}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	answered := make(map[string]bool, len(uniq))
	for _, r := range batch {
		switch {
		case err != nil:
			r.done <- batchRes{err: fmt.Errorf("store delivery %s: %w", r.d.ID, err)}
		case answered[r.d.ID]:
			r.done <- batchRes{state: DeliveryPending}
		default:
			answered[r.d.ID] = true
			res, ok := results[r.d.ID]
			if !ok {
				res = batchRes{state: DeliveryPending}
			}
			r.done <- res
		}
	}
}
