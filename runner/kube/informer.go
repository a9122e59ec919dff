package kube

import (
	"context"
	"fmt"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// jobWatcher is the Executor's one informer on its Jobs. It starts on
// the first Execute and is shared by all of them: a worker running fifty
// tasks holds one watch, not fifty polling loops.
type jobWatcher struct {
	client kubernetes.Interface
	ns     string

	mu       sync.Mutex
	informer cache.SharedIndexInformer
	stop     context.CancelFunc
	closed   bool
	waiters  map[string]map[chan struct{}]struct{} // task id -> wake-up channels
}

func newJobWatcher(client kubernetes.Interface, ns string) *jobWatcher {
	return &jobWatcher{client: client, ns: ns, waiters: map[string]map[chan struct{}]struct{}{}}
}

// start runs the informer once and waits (bounded by ctx) for its cache.
func (w *jobWatcher) start(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return fmt.Errorf("kube: executor closed")
	}
	if w.informer == nil {
		// No informer resync: waiters re-read the API themselves (see
		// Executor.wait), which also catches a Job the watch never saw.
		factory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
			informers.WithNamespace(w.ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managedSelector }))
		inf := factory.Batch().V1().Jobs().Informer()
		notify := func(obj any) { w.notify(obj) }
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, obj any) { notify(obj) },
			DeleteFunc: notify,
		}); err != nil {
			w.mu.Unlock()
			return fmt.Errorf("kube: job informer: %w", err)
		}
		// The informer outlives any one Execute: it stops on Close.
		runCtx, cancel := context.WithCancel(context.Background())
		w.informer, w.stop = inf, cancel
		go inf.RunWithContext(runCtx)
	}
	inf := w.informer
	w.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("kube: job informer did not sync: %w", context.Cause(ctx))
	}
	return nil
}

// subscribe returns a channel that receives a wake-up (coalesced) when
// the task's Job changes. Subscribe before reading the cache so that no
// change falls between the read and the wait.
func (w *jobWatcher) subscribe(taskID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.waiters[taskID] == nil {
		w.waiters[taskID] = map[chan struct{}]struct{}{}
	}
	w.waiters[taskID][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.waiters[taskID], ch)
		if len(w.waiters[taskID]) == 0 {
			delete(w.waiters, taskID)
		}
		w.mu.Unlock()
	}
}

func (w *jobWatcher) notify(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	task := job.Labels[LabelTask]
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.waiters[task] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending; the waiter reads the latest state
		}
	}
}

// cached returns the informer's copy of the named Job. It must not be
// modified.
func (w *jobWatcher) cached(name string) (*batchv1.Job, bool) {
	w.mu.Lock()
	inf := w.informer
	w.mu.Unlock()
	if inf == nil {
		return nil, false
	}
	obj, ok, err := inf.GetStore().GetByKey(w.ns + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	job, ok := obj.(*batchv1.Job)
	return job, ok
}

func (w *jobWatcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.stop != nil {
		w.stop()
	}
}
