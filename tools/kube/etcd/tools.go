//go:build tools

// Package etcd pins the etcd server that tests/kube runs kube-apiserver
// on. It is its own module because etcd v3.7 and k8s.io/kubernetes
// v1.37 need different versions of the etcd client libraries.
package etcd

import _ "go.etcd.io/etcd/server/v3"
