package kube

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Keys of the per-Job Secret; each is mounted, as a file, into the one
// container that needs it and never into a step.
const (
	secretKeyClone  = "clone-token"
	secretKeyUpload = "upload-token"
)

// tokens are the two credentials a task's Job needs.
type tokens struct {
	clone  string
	upload string
}

// buildSecret renders the Job's Secret, owned by the Job so that the
// garbage collector deletes it with the Job (including when the TTL
// controller reaps a Job the runner never came back for).
func buildSecret(cfg Config, job *batchv1.Job, t tokens) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      job.Name,
			Namespace: cfg.Namespace,
			Labels:    copyMap(job.Labels),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1",
				Kind:       "Job",
				Name:       job.Name,
				UID:        job.UID,
				// No BlockOwnerDeletion: it would need update on
				// jobs/finalizers, and nothing waits on the Secret.
			}},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr(true),
		Data: map[string][]byte{
			secretKeyClone:  []byte(t.clone),
			secretKeyUpload: []byte(t.upload),
		},
	}
}

// ensureSecret creates the Job's Secret. A Secret of that name left by an
// earlier Job of the same task (a crash before the Job was deleted) is
// replaced: its owner is gone or it holds expired tokens.
func (e *Executor) ensureSecret(ctx context.Context, job *batchv1.Job, t tokens) error {
	secrets := e.client.CoreV1().Secrets(e.cfg.Namespace)
	want := buildSecret(e.cfg, job, t)
	_, err := secrets.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kube: create secret %s: %w", want.Name, err)
	}
	// Immutable Secrets cannot be updated: delete and create again.
	if err := secrets.Delete(ctx, want.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube: replace stale secret %s: %w", want.Name, err)
	}
	if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kube: create secret %s: %w", want.Name, err)
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
