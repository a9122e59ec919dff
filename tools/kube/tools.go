//go:build tools

// Package kube pins the Kubernetes API server that tests/kube runs
// against. It is a separate module so that k8s.io/kubernetes and its
// hundred dependencies never enter the campaignbot module graph.
package kube

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
