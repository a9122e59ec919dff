// Package chartcheck holds the tests of deploy/: the Helm chart
// (deploy/helm/campaignbot) rendered with Helm's own packages and decoded
// strictly with client-go's scheme, helm lint, and the Dockerfile. It is a
// module of its own so that campaignbot's module does not carry Helm; run
// it with `make chart-test` (part of `make test`).
package chartcheck
