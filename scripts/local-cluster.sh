#!/usr/bin/env bash
# A real Kubernetes API on 127.0.0.1 for the engine tests and for trying the `local` stack:
# etcd, kube-apiserver (RBAC, ServiceAccount token signing) and kube-controller-manager, built
# from the Go module proxy by tools/kube and cached outside the repository. Without
# --with-nodes there is no kubelet and no scheduler: objects are stored and controlled, pods
# are never run. With it (root only, one a machine), pods run: scripts/local-cluster/node.sh.
#
#   scripts/local-cluster.sh build [--with-nodes]  build (or find cached) binaries, print their directory
#   scripts/local-cluster.sh start [--with-nodes [--nodes N] [--without-network-policy]]  generate
#                                    certificates, start the cluster (N nodes, default 3), write a kubeconfig
#   scripts/local-cluster.sh env     print `export KUBECONFIG=... PATH=...` for the running cluster
#   scripts/local-cluster.sh status  exit 0 if the running cluster answers /readyz
#   scripts/local-cluster.sh stop    stop the processes, wait for them, remove the state directory
#   scripts/local-cluster.sh push-image PROGRAM REF [K=V...]  (with nodes) pack tools/images/pack's
#                                    PROGRAM as image REF with env K=V, push it to the registry
#   scripts/local-cluster.sh node-restart I  (with nodes) restart node I's processes, as a k3s upgrade does
#   scripts/local-cluster.sh node-kill I     (with nodes) kill node I and its containers, as a VM that dies
#
# HP_LOCAL_CLUSTER_DIR chooses the state directory (default: $TMPDIR/hobby-platform-local-cluster),
# so several clusters (e.g. one per test run) can coexist; the kubeconfig is $DIR/kubeconfig.
set -euo pipefail
# Builds run inside $(...): a failed command there must fail the build, not be cached.
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$ROOT/tools/kube"
DIR="${HP_LOCAL_CLUSTER_DIR:-${TMPDIR:-/tmp}/hobby-platform-local-cluster}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hobby-platform/kube"
# The controller-manager runs only what a bare API server lacks and the stack relies on:
# service-account tokens in token Secrets, namespace finalization on delete, the `default`
# ServiceAccount, garbage collection, Deployments/ReplicaSets so rollouts have objects, and the
# ResourceQuota controller (the quota admission refuses pods until it has counted a namespace).
CONTROLLERS="serviceaccount-token,serviceaccount,namespace,garbagecollector,deployment,replicaset,resourcequota"
WITH_NODES=0
# Three nodes, as the stacks' clusters have; one is the single-node cluster of before.
NODE_COUNT=3
# kube-router enforces NetworkPolicies unless a test asks without it (see node.sh).
NETWORK_POLICY=1
COMMAND="${1:-}"
(($#)) && shift
while (($#)); do
    case "$1" in
        --with-nodes) WITH_NODES=1 ;;
        --nodes) NODE_COUNT="${2:-}"; shift ;;
        --without-network-policy) NETWORK_POLICY=0 ;;
        *) break ;;
    esac
    shift
done
[[ "$NODE_COUNT" =~ ^[1-9]$ ]] || { echo "local-cluster: --nodes takes 1 to 9, got '$NODE_COUNT'" >&2; exit 1; }

log() { echo "local-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

mod_field() { go -C "$MODULE" list -m -f "$1" "$2"; }

# Cache directory keyed by the pinned versions and the exact module graph (go.sum).
bin_dir() {
    local k8s etcd sum
    k8s="$(mod_field '{{.Version}}' k8s.io/kubernetes)"
    etcd="$(mod_field '{{.Version}}' go.etcd.io/etcd/server/v3)"
    sum="$(cat "$MODULE/go.mod" "$MODULE/go.sum" | sha256sum | cut -c1-12)"
    echo "$CACHE/k8s-$k8s-etcd-$etcd-$sum"
}

# cached DST FILE BUILD...: DST when it holds FILE; else BUILD... fills DST.tmp.<pid> (its last
# argument) under the cache's lock, which then becomes DST. One build at a time per cache, even
# when two test runs start together.
cached() {
    local dst="$1" file="$2" lock; shift 2
    if [[ ! -x "$dst/$file" ]]; then
        mkdir -p "$CACHE"
        exec {lock}>"$CACHE/.build.lock"
        flock "$lock"
        if [[ ! -x "$dst/$file" ]]; then
            rm -rf "$dst.tmp.$$"; mkdir -p "$dst.tmp.$$"
            "$@" "$dst.tmp.$$"
            mv "$dst.tmp.$$" "$dst"
        fi
        exec {lock}>&-
    fi
    echo "$dst"
}

build_kube() {
    local tmp="$1" k8s major minor date v ldflags pkg name t0
    k8s="$(mod_field '{{.Version}}' k8s.io/kubernetes)"
    date="$(mod_field '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
    major="${k8s#v}"; major="${major%%.*}"
    minor="${k8s#v*.}"; minor="${minor%%.*}"
    # Without these the servers report v0.0.0-master (the release build sets them the same way).
    v=k8s.io/component-base/version
    ldflags="-s -w -X $v.gitVersion=$k8s -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=$date"
    # Sequential builds, two compile jobs: the machine's two cores are shared.
    for pkg in $(go -C "$MODULE" list tool); do
        case "$pkg" in
            go.etcd.io/etcd/server/v3) name=etcd ;;
            *) name="${pkg##*/}" ;;
        esac
        t0=$SECONDS
        log "building $name ($pkg)"
        CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--p=2}" go -C "$MODULE" build -trimpath -ldflags "$ldflags" -o "$tmp/$name" "$pkg"
        log "built $name in $((SECONDS - t0))s"
    done
}

cmd_build() { cached "$(bin_dir)" kube-apiserver build_kube; }

# shellcheck source-path=SCRIPTDIR source=local-cluster/node.sh
source "$ROOT/scripts/local-cluster/node.sh"

# Free loopback ports, chosen by the kernel.
free_ports() {
    node -e '
        const net = require("net");
        const n = Number(process.argv[1]);
        const servers = Array.from({ length: n }, () => net.createServer());
        Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", () => ok(s.address().port)))))
            .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
    ' "$1"
}

# Leaf certificate signed by the cluster CA: name, subject, extendedKeyUsage, subjectAltName.
issue() {
    local name="$1" subj="$2" eku="$3" san="${4:-}"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$DIR/pki/$name.key" -subj "$subj" -out "$DIR/pki/$name.csr" 2>/dev/null
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        [[ -n "$san" ]] && echo "subjectAltName=$san"
    } >"$DIR/pki/$name.ext"
    openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$DIR/pki/ca.crt" -CAkey "$DIR/pki/ca.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$DIR/pki/$name.ext" -out "$DIR/pki/$name.crt" 2>/dev/null
    rm "$DIR/pki/$name.csr" "$DIR/pki/$name.ext"
}

gen_pki() {
    mkdir -p "$DIR/pki"
    chmod 700 "$DIR" "$DIR/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$DIR/pki/ca.key" -out "$DIR/pki/ca.crt" -subj "/CN=hobby-platform-local-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    local loop="DNS:localhost,IP:127.0.0.1"
    issue etcd "/CN=etcd" "serverAuth,clientAuth" "$loop"
    issue apiserver-etcd-client "/CN=kube-apiserver-etcd-client" "clientAuth"
    local node=""
    ((WITH_NODES)) && node=",IP:$HOST_IP"
    issue apiserver "/CN=kube-apiserver" "serverAuth" \
        "$loop$node,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1"
    issue admin "/O=system:masters/CN=hobby-platform-local-admin" "clientAuth"
    issue controller-manager "/CN=system:kube-controller-manager" "clientAuth"
    # ServiceAccount token signing key (the API server verifies with the public half).
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$DIR/pki/sa.key" 2>/dev/null
    openssl pkey -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
    ((WITH_NODES)) && node_pki
    return 0
}

# kubeconfig NAME USER SERVER: client certificate credentials, CA-verified server.
kubeconfig() {
    local file="$DIR/$1.kubeconfig" user="$2" server="$3" k="$BIN/kubectl"
    [[ "$1" == admin ]] && file="$DIR/kubeconfig"
    "$k" --kubeconfig "$file" config set-cluster local --server "$server" \
        --certificate-authority "$DIR/pki/ca.crt" --embed-certs >/dev/null
    "$k" --kubeconfig "$file" config set-credentials "$user" \
        --client-certificate "$DIR/pki/$user.crt" --client-key "$DIR/pki/$user.key" --embed-certs >/dev/null
    "$k" --kubeconfig "$file" config set-context local --cluster local --user "$user" >/dev/null
    "$k" --kubeconfig "$file" config use-context local >/dev/null
    chmod 600 "$file"
}

# run NAME ARGS...: start a server in the background, remember its pid.
run() {
    local name="$1"; shift
    # The start's lock (node_network_up) stays with the start: containerd would hand it on to
    # its shims, which outlive a killed cluster.
    if [[ -n "${NODE_LOCK_FD:-}" ]]; then
        "$@" {NODE_LOCK_FD}>&- >"$DIR/$name.log" 2>&1 </dev/null &
    else
        "$@" >"$DIR/$name.log" 2>&1 </dev/null &
    fi
    echo $! >"$DIR/$name.pid"
}

alive() { [[ -f "$DIR/$1.pid" ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

# wait_for WHAT SECONDS COMMAND...: poll until COMMAND succeeds; on timeout show the logs.
wait_for() {
    local what="$1" secs="$2"; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        for p in etcd kube-apiserver kube-controller-manager ${NODE_PROCESSES:-}; do
            if [[ -f "$DIR/$p.pid" ]] && ! alive "$p"; then
                tail -n 30 "$DIR/$p.log" >&2; die "$p exited while waiting for $what"
            fi
        done
        if ((SECONDS >= deadline)); then
            tail -n 30 "$DIR"/*.log >&2; die "timed out after ${secs}s waiting for $what"
        fi
        sleep 0.5
    done
}

stop_on_failure() {
    local rc=$?
    ((rc == 0)) || cmd_stop
    exit "$rc"
}

cmd_start() {
    local etcd_port peer_port api_port t0=$SECONDS address=127.0.0.1 controllers="$CONTROLLERS"
    BIN="$(cmd_build)"
    if ((WITH_NODES)); then
        ((EUID == 0)) || die "--with-nodes needs root (containerd, the kubelet, iptables)"
        node_packages
        build_images
        address="$HOST_IP"
        NODE_PROCESSES="$(node_processes)"
        # Every controller a cluster runs by default: pods are real now (EndpointSlices for
        # kube-proxy and CoreDNS, Jobs, DaemonSets, kube-root-ca.crt for projected tokens, ...).
        controllers="*"
    fi
    if [[ -f "$DIR/kubeconfig" ]] && cmd_status 2>/dev/null; then
        log "already running ($DIR)"; return
    fi
    [[ -e "$DIR" ]] && cmd_stop
    mkdir -p "$DIR"
    # A failed start leaves nothing running (the logs' tails are printed before).
    trap stop_on_failure EXIT
    echo "$BIN" >"$DIR/bin"
    ((WITH_NODES)) && node_network_up
    gen_pki
    read -r etcd_port peer_port api_port < <(free_ports 3)
    local pki="$DIR/pki"

    run etcd "$BIN/etcd" --name local --data-dir "$DIR/etcd" \
        --listen-client-urls "https://127.0.0.1:$etcd_port" --advertise-client-urls "https://127.0.0.1:$etcd_port" \
        --listen-peer-urls "https://127.0.0.1:$peer_port" --initial-advertise-peer-urls "https://127.0.0.1:$peer_port" \
        --initial-cluster "local=https://127.0.0.1:$peer_port" \
        --cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" --trusted-ca-file "$pki/ca.crt" --client-cert-auth \
        --peer-cert-file "$pki/etcd.crt" --peer-key-file "$pki/etcd.key" --peer-trusted-ca-file "$pki/ca.crt" --peer-client-cert-auth
    wait_for etcd 30 curl -sf --cacert "$pki/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \
        --key "$pki/apiserver-etcd-client.key" "https://127.0.0.1:$etcd_port/health"

    # A loopback advertise address is refused by the endpoint reconciler, which only keeps the
    # `kubernetes` Service's endpoints for in-cluster clients; there are none here.
    # Default admission plugins (NamespaceLifecycle, ServiceAccount, PodSecurity, ...) all work
    # without a controller-manager; the ones that need it (tokens, namespace deletion) get it.
    local listen=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none --authorization-mode RBAC)
    # shellcheck disable=SC2207 # flags without spaces
    ((WITH_NODES)) && listen=($(node_apiserver_flags))
    run kube-apiserver "$BIN/kube-apiserver" "${listen[@]}" --secure-port "$api_port" \
        --etcd-servers "https://127.0.0.1:$etcd_port" --etcd-cafile "$pki/ca.crt" \
        --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --anonymous-auth=false \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range 10.0.0.0/24 \
        --cert-dir "$DIR/apiserver-certs"
    kubeconfig admin admin "https://$address:$api_port"
    wait_for kube-apiserver 90 "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" get --raw /readyz

    kubeconfig controller-manager controller-manager "https://$address:$api_port"
    # Each controller acts as its own ServiceAccount with its bootstrap role, as kubeadm runs it
    # (the controller-manager's own identity may not, e.g., empty a namespace).
    run kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig "$DIR/controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
        --controllers "$controllers" --use-service-account-credentials \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt"
    # The serviceaccount controller's first act proves the controller-manager is working.
    wait_for kube-controller-manager 60 "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" get serviceaccount default -n default
    ((WITH_NODES)) && node_start "$api_port"
    log "ready in $((SECONDS - t0))s: https://$address:$api_port, KUBECONFIG=$DIR/kubeconfig"
}

cmd_status() {
    [[ -f "$DIR/bin" ]] || return 1
    "$(cat "$DIR/bin")/kubectl" --kubeconfig "$DIR/kubeconfig" get --raw /readyz >/dev/null
}

cmd_env() {
    [[ -f "$DIR/bin" ]] || die "not started ($DIR)"
    # $PATH is left for the shell that evaluates this output.
    # shellcheck disable=SC2016
    printf 'export KUBECONFIG=%q\nexport PATH=%q:"$PATH"\n' "$DIR/kubeconfig" "$(cat "$DIR/bin")"
}

# stop_process NAME...: TERM to each at once, then up to 20s for all of them to exit, then KILL
# (one after another cost each process's whole shutdown, about 2 s, in turn).
stop_process() {
    local name pid i left names=() pids=()
    for name; do
        [[ -f "$DIR/$name.pid" ]] || continue
        pid="$(cat "$DIR/$name.pid")"
        if kill "$pid" 2>/dev/null; then names+=("$name") pids+=("$pid"); fi
    done
    for _ in $(seq 100); do
        left=0
        for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then left=1; fi; done
        if ((!left)); then break; fi
        sleep 0.2
    done
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[i]}" 2>/dev/null; then
            log "${names[i]} (${pids[i]}) ignored TERM, killing"
            kill -9 "${pids[i]}"
        fi
    done
    for name; do rm -f "$DIR/$name.pid"; done
}

cmd_stop() {
    local node=0
    # The node's network is up from the start's first step: clean it whenever this cluster owns it.
    if [[ "$(cat "$NODE_OWNER" 2>/dev/null)" == "$DIR" ]]; then node=1; node_stop; fi
    # Reverse start order; etcd last, as the API server writes to it while it shuts down.
    stop_process kube-controller-manager kube-apiserver
    stop_process etcd
    if ((node)); then node_network_down; fi
    rm -rf "$DIR"
    log "stopped, removed $DIR"
}

cmd_push_image() {
    local program="$1" ref="$2" args=() kv
    [[ -f "$DIR/registry" ]] || die "no registry: start the cluster with --with-nodes first ($DIR)"
    shift 2
    for kv in "$@"; do args+=(-env "$kv"); done
    PACK_IMAGE_PASSWORD="$(cat "$DIR/registry-password")" "$(image_bin pack pack-image)" -binary "$(image_bin pack "$program")" -name "$ref" \
        -user 65532:65532 "${args[@]}" -push -ca "$DIR/pki/ca.crt" -username "$REGISTRY_USER"
}

# node-restart/node-kill I: on a running cluster with nodes, node I (1 to its node count).
cmd_node() {
    local action="$1" i="${2:-}"
    [[ -f "$DIR/nodes" ]] || die "no nodes: start the cluster with --with-nodes first ($DIR)"
    NODE_COUNT="$(node_count)"
    if ! [[ "$i" =~ ^[1-9]$ ]] || ((i > NODE_COUNT)); then die "node-$action takes a node number from 1 to $NODE_COUNT, got '$i'"; fi
    BIN="$(cat "$DIR/bin")"
    NODE_PROCESSES="$(node_processes)"
    "node_$action" "$i"
}

case "$COMMAND" in
    build) cmd_build; if ((WITH_NODES)); then build_images; fi ;;
    push-image) cmd_push_image "$@" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    node-restart) cmd_node restart "$@" ;;
    node-kill) cmd_node kill "$@" ;;
    *) die "usage: $0 build|start [--with-nodes [--nodes N] [--without-network-policy]]|stop|env|status|push-image PROGRAM REF [K=V...]|node-restart I|node-kill I" ;;
esac
