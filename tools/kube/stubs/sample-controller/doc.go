// Package stub stands in for k8s.io/sample-controller, which the module proxy does not
// serve at v0.37.2; nothing in kube-apiserver imports it.
package stub
