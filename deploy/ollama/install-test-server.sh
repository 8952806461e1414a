#!/usr/bin/env bash
# install-test-server.sh builds the Ollama server used by the integration tests
# (assist/ollama/ollamatest) into $REPO/.cache/bin/ollama.
#
# No model registry is reachable from the build machines, so tests serve a tiny
# generated GGUF model; only the server binary is needed. v0.6.5 is the newest
# version whose module zip builds here (later ones lack a vendored audio header).
#
# Idempotent: build dependencies are installed only when missing and the binary
# is built only when absent or of a different version. Prints the binary path.
set -euo pipefail

OLLAMA_VERSION="${OLLAMA_VERSION:-v0.6.5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$REPO/.cache/bin"
BIN="$BIN_DIR/ollama"
STAMP="$BIN_DIR/ollama.version"

log() { echo "install-test-server: $*" >&2; }

built() { [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$OLLAMA_VERSION" ]]; }

if built; then
	log "ollama $OLLAMA_VERSION already built"
	echo "$BIN"
	exit 0
fi

# Two runs in one checkout (parallel CI jobs, make -j) build once.
mkdir -p "$BIN_DIR"
if command -v flock >/dev/null; then
	exec 9>"$BIN_DIR/.install.lock"
	flock 9
	if built; then
		log "ollama $OLLAMA_VERSION built by a concurrent run"
		echo "$BIN"
		exit 0
	fi
fi

# Build dependencies: headers the cgo llama.cpp bindings include.
need=()
[[ -f /usr/include/nlohmann/json.hpp ]] || need+=(nlohmann-json3-dev)
[[ -f /usr/include/stb/stb_image.h ]] || need+=(libstb-dev)
if ((${#need[@]})); then
	command -v apt-get >/dev/null || { log "missing ${need[*]} and no apt-get to install them"; exit 1; }
	SUDO=""
	if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
	log "installing ${need[*]}"
	# Output to stderr: stdout carries only the binary's path.
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update >&2
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}" >&2
fi

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
log "building ollama $OLLAMA_VERSION into $BIN_DIR (takes minutes the first time)"
start=$(date +%s)
# Run outside the repository so its go.mod does not influence the build.
(cd / && CGO_ENABLED=1 CGO_CPPFLAGS="-I/usr/include/stb ${CGO_CPPFLAGS:-}" GOBIN="$BIN_DIR" \
	go install -ldflags "-X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" \
	"github.com/ollama/ollama@$OLLAMA_VERSION" >&2)
echo "$OLLAMA_VERSION" >"$STAMP"
log "built in $(($(date +%s) - start))s"
echo "$BIN"
