#!/bin/sh
# Builds the kube-apiserver and etcd binaries tests/kube runs against,
# from the Go module proxy, into a cache directory:
#
#   tools/kube/build.sh [dir]     (default $CAMPAIGNBOT_KUBE_BIN, then
#                                  $HOME/.cache/campaignbot/kube-bin)
#
# Idempotent: a binary already present is not rebuilt (delete it, or
# the directory, to force a rebuild). kube-apiserver takes about five
# to eight minutes and ~3 GB of build cache on two cores; etcd under a minute.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${CAMPAIGNBOT_KUBE_BIN:-${HOME}/.cache/campaignbot/kube-bin}}
mkdir -p "$dir"

# Must match the k8s.io/kubernetes version in go.mod.
kube_version=v1.37.2

build() { # name module-dir package [ldflags]
	if [ -x "$dir/$1" ]; then
		echo "build.sh: $dir/$1 present, skipping"
		return
	fi
	echo "build.sh: building $1 ($3)"
	start=$(date +%s)
	# Build to a temporary name so an interrupted build never leaves a
	# binary that looks complete.
	(cd "$2" && go build -trimpath -ldflags "${4:-}" -o "$dir/$1.tmp" "$3")
	mv "$dir/$1.tmp" "$dir/$1"
	echo "build.sh: built $dir/$1 in $(($(date +%s) - start))s"
}

v=k8s.io/component-base/version
build kube-apiserver "$here" k8s.io/kubernetes/cmd/kube-apiserver \
	"-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean"
build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "-s -w"

"$dir/kube-apiserver" --version
"$dir/etcd" --version | head -1
