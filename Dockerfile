# syntax=docker/dockerfile:1
#
# campaignbot's container image: one static binary that runs every role
# (server, worker, migrate, and the Kubernetes Jobs' agent). Build:
#
#   docker build -t campaignbot:dev --build-arg VERSION=$(git describe --always --dirty) .
#   docker build --target local -t campaignbot:local .   # worker with the local executor
#
# Targets (docs/operations.md, "Image"):
#   runtime (default)  distroless Wolfi base with git (the agent clones with
#                      it), no shell, no package manager, user 65532.
#   local              Debian slim with git, bubblewrap and a shell, user
#                      65532: for a worker using the local executor
#                      (RUNNER_EXECUTOR=local, deploy/compose.yaml).

ARG GO_VERSION=1.26.8

# Build on the builder's own platform and cross-compile: no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
# Static: CGO off, so the binary needs no libc from the base image.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/campaignbot/campaignbot/app.Version=${VERSION}" \
      -o /out/campaignbot ./cmd/campaignbot
# The data directory, owned by the runtime user: the final stages have no
# shell to make it, and a volume mounted on it starts with this owner.
RUN mkdir -p /out/data/artifacts && chown -R 65532:65532 /out/data

# For the local executor: steps run as shell scripts, sandboxed with
# bubblewrap where the kernel lets an unprivileged user do so.
FROM debian:bookworm-slim AS local
# Debian's stable packages get security fixes under the same version
# constraint; pinning exact versions would only make the build break.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git bubblewrap ca-certificates util-linux \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/campaignbot /usr/local/bin/campaignbot
COPY --from=build --chown=65532:65532 /out/data /var/lib/campaignbot
WORKDIR /var/lib/campaignbot
USER 65532:65532
ENV HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/campaignbot"]
CMD ["server"]

# The default: what the Helm chart runs. Chainguard's free images are
# published as :latest only; pin the result by digest (the chart's
# image.digest), and rebuild often to pick up fixes.
# hadolint ignore=DL3007
FROM cgr.dev/chainguard/git:latest AS runtime
COPY --from=build /out/campaignbot /usr/local/bin/campaignbot
COPY --from=build --chown=65532:65532 /out/data /var/lib/campaignbot
WORKDIR /var/lib/campaignbot
# The distroless "nonroot" uid; runner/kube's Jobs and the chart's pods
# run as 65532 too, and Kubernetes' runAsNonRoot needs a numeric user.
USER 65532:65532
ENV HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/campaignbot"]
CMD ["server"]
