# shellcheck shell=bash
# The node half of scripts/local-cluster.sh (`start --with-nodes`), sourced by it: a
# kube-scheduler, one kubelet on containerd and runc (Debian's), kube-proxy (iptables), the CNI
# bridge plugin (Debian's), CoreDNS, an image registry, and k3s's Helm controller with the
# Traefik k3s bundles (scripts/local-cluster/charts), so pods really run. Nothing is
# pulled: every image is a binary built here (tools/images) and packed by pack-image, imported
# into containerd under the name the manifests use, or pushed to the registry that the stack's
# pull Secret authenticates to.
#
# One such cluster a machine: the node owns fixed names (the bridge, the node's address, its
# cgroups). Needs root.

NODE_NAME=local-node
# The pod network's bridge and gateway, also the node's address: the API server listens there
# so that pods reach it through the `kubernetes` Service (loopback is not theirs).
BRIDGE=hp0
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
CLUSTER_DNS=10.0.0.10
CLUSTER_DOMAIN=cluster.local
# Where a running node cluster writes its state directory, to refuse a second one.
NODE_OWNER=/run/hobby-platform-local-node
IMAGES_MODULES="$ROOT/tools/images"
# The names k3s gives these images (not read from k3s at its pinned tag, which is too large to
# fetch here); only this cluster's own images are named so.
PAUSE_IMAGE=docker.io/rancher/mirrored-pause:3.6
COREDNS_REPOSITORY=docker.io/rancher/mirrored-coredns-coredns
# On Docker Hub, the Traefik chart's default registry.
TRAEFIK_REPOSITORY=rancher/mirrored-library-traefik
# Named after the klipper-helm release whose `entry` script tools/images/helm/cmd/entry follows
# (its helm is v4.1.4, not served here: this image's is tools/images/helm's).
HELM_JOB_IMAGE=docker.io/rancher/klipper-helm:v0.13.3-build20260727
REGISTRY_USER=local-deploy-token
# shellcheck disable=SC2034 # read by local-cluster.sh's wait_for
NODE_PROCESSES="containerd kubelet kube-proxy kube-scheduler registry helm-controller"

kctl() { "$(cat "$DIR/bin")/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }
ctrd() { ctr --address "$DIR/containerd/containerd.sock" --namespace k8s.io "$@"; }

# Debian's container runtime and the tools the node's parts call, installed where missing.
node_packages() {
    local missing=()
    command -v containerd >/dev/null || missing+=(containerd)
    command -v runc >/dev/null || missing+=(runc)
    [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v conntrack >/dev/null || missing+=(conntrack)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    ((${#missing[@]} == 0)) && return
    log "installing from Debian: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

module_version() { go -C "$IMAGES_MODULES/$1" list -m -f '{{.Version}}' "$2"; }

# build_image_module M DIR: tools/images/M's programs (its tools and ./cmd/...) into DIR.
build_image_module() {
    local m="$1" tmp="$2" t0=$SECONDS pkgs=""
    if grep -q '^tool' "$IMAGES_MODULES/$m/go.mod"; then pkgs="$(go -C "$IMAGES_MODULES/$m" list tool)"; fi
    [[ -d "$IMAGES_MODULES/$m/cmd" ]] && pkgs+=" ./cmd/..."
    log "building images/$m"
    # shellcheck disable=SC2086 # one word a package
    CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--p=2}" go -C "$IMAGES_MODULES/$m" build -trimpath -ldflags "-s -w" -o "$tmp/" $pkgs
    log "built images/$m in $((SECONDS - t0))s"
}

# image_bin MODULE [PROGRAM]: the path of tools/images/MODULE's PROGRAM (default: MODULE), built
# once and cached by that module's files (names and contents) and the Go version alone: editing
# the example service relinks only tools/images/pack, not Traefik.
image_bin() {
    local m="$1" program="${2:-$1}" sum dir
    sum="$(cd "$IMAGES_MODULES/$m" && { go env GOVERSION; find . -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-12)"
    # An assignment of its own, so that a failed build stops the script (an echo of it would not).
    dir="$(cached "$CACHE/images/$m-$sum" "$program" build_image_module "$m")"
    echo "$dir/$program"
}

# Every image's binaries, before the cluster starts (a cold build takes minutes).
build_images() {
    local m
    image_bin pack pack-image >/dev/null
    for m in coredns registry traefik helm-controller helm; do image_bin "$m" >/dev/null; done
}

node_pki() {
    issue kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "clientAuth"
    issue kubelet "/CN=$NODE_NAME" "serverAuth" "DNS:$NODE_NAME,IP:$NODE_IP"
    issue apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "clientAuth"
    issue scheduler "/CN=system:kube-scheduler" "clientAuth"
    issue kube-proxy "/CN=system:kube-proxy" "clientAuth"
    issue registry "/CN=hobby-platform-local-registry" "serverAuth" "IP:127.0.0.1"
}

# Flags the API server needs once there is a kubelet: listen where pods reach it, keep the
# `kubernetes` Service's endpoints, authorize kubelets as nodes, and talk to the kubelet (by its
# address: no DNS knows the node's name) over verified TLS with a client certificate.
node_apiserver_flags() {
    local pki="$DIR/pki"
    echo --bind-address "$NODE_IP" --advertise-address "$NODE_IP" \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP
}

node_network_up() {
    if [[ -e "$NODE_OWNER" ]] || ip link show "$BRIDGE" >/dev/null 2>&1; then
        die "a cluster with nodes is already running ($(cat "$NODE_OWNER" 2>/dev/null || echo "bridge $BRIDGE exists")); stop it first with HP_LOCAL_CLUSTER_DIR=<its directory> $0 stop"
    fi
    echo "$DIR" >"$NODE_OWNER"
    ip link add "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    sysctl -qw net.ipv4.ip_forward=1
    # Service traffic between two pods on the bridge goes through iptables (kube-proxy's rules).
    modprobe br_netfilter 2>/dev/null || true
    if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then sysctl -qw net.bridge.bridge-nf-call-iptables=1; fi
}

node_start() {
    local pki="$DIR/pki" server="https://$NODE_IP:$1" pack coredns_image traefik_tag kubelet_port healthz_port proxy_healthz proxy_metrics registry_port password helm_controller helm chart
    read -r kubelet_port healthz_port proxy_healthz proxy_metrics registry_port < <(free_ports 5)
    # The API server's kubelet client gets what kubeadm grants it: the kubelet API, no more.
    kctl create clusterrolebinding kube-apiserver-kubelet-api-admin --clusterrole system:kubelet-api-admin --user kube-apiserver-kubelet-client >/dev/null

    kubeconfig scheduler scheduler "$server"
    run kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$DIR/scheduler.kubeconfig" --leader-elect=false --secure-port 0

    # containerd: state under $DIR, the bridge network, the registry's CA, runc with cgroupfs.
    mkdir -p "$DIR/containerd/certs.d/127.0.0.1:$registry_port" "$DIR/cni"
    cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
[grpc]
  address = "$DIR/containerd/containerd.sock"
[ttrpc]
  address = "$DIR/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  # Root here lacks CAP_SYS_RESOURCE, so runc may not lower a pod's oom_score_adj (the
  # sandbox's -998): containerd clamps it to its own instead of failing every pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$DIR/containerd/certs.d"
EOF
    cat >"$DIR/containerd/certs.d/127.0.0.1:$registry_port/hosts.toml" <<EOF
server = "https://127.0.0.1:$registry_port"
[host."https://127.0.0.1:$registry_port"]
  capabilities = ["pull", "resolve"]
  ca = "$pki/ca.crt"
EOF
    cat >"$DIR/cni/10-hobby-platform.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "hobby-platform",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$DIR/cni-ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    run containerd containerd --config "$DIR/containerd/config.toml"
    wait_for containerd 30 ctrd version
    pack="$(image_bin pack pack-image)"
    coredns_image="$COREDNS_REPOSITORY:$(module_version coredns github.com/coredns/coredns | sed 's/^v//')"
    traefik_tag="$(module_version traefik github.com/traefik/traefik/v3 | sed 's/^v//')"
    "$pack" -binary "$(image_bin pack pause)" -name "$PAUSE_IMAGE" -out "$DIR/image.tar"
    ctrd images import "$DIR/image.tar" >/dev/null
    "$pack" -binary "$(image_bin coredns)" -name "$coredns_image" -out "$DIR/image.tar"
    ctrd images import "$DIR/image.tar" >/dev/null
    # As upstream's image: Traefik is the entrypoint (the chart passes flags only), user root
    # unless the pod says otherwise (the chart does: 65532).
    "$pack" -binary "$(image_bin traefik)" -name "docker.io/$TRAEFIK_REPOSITORY:$traefik_tag" -out "$DIR/image.tar"
    ctrd images import "$DIR/image.tar" >/dev/null
    # klipper-helm's user and home (its Dockerfile); the Job mounts emptyDirs under that home.
    "$pack" -binary "$(image_bin helm entry)" -with "$(image_bin helm)" -name "$HELM_JOB_IMAGE" \
        -user 1000:1000 -env HOME=/home/klipper-helm -out "$DIR/image.tar"
    ctrd images import "$DIR/image.tar" >/dev/null
    rm "$DIR/image.tar"

    # The registry, behind TLS from the cluster CA and the deploy token's name and a fresh password.
    password="$(openssl rand -hex 16)"
    (umask 077; echo -n "$password" >"$DIR/registry-password")
    # From stdin: a password on the command line would show in ps.
    htpasswd -iBn "$REGISTRY_USER" <"$DIR/registry-password" >"$DIR/registry.htpasswd"
    cat >"$DIR/registry.yml" <<EOF
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: "$DIR/registry-data" } }
http:
  addr: 127.0.0.1:$registry_port
  tls: { certificate: "$pki/registry.crt", key: "$pki/registry.key" }
auth:
  htpasswd: { realm: hobby-platform-local, path: "$DIR/registry.htpasswd" }
EOF
    OTEL_TRACES_EXPORTER=none run registry "$(image_bin registry)" serve "$DIR/registry.yml"
    echo "127.0.0.1:$registry_port" >"$DIR/registry"
    echo "$REGISTRY_USER" >"$DIR/registry-username"
    wait_for registry 30 curl -s --cacert "$pki/ca.crt" -o /dev/null "https://127.0.0.1:$registry_port/v2/"

    kubeconfig kubelet kubelet-client "$server"
    cat >"$DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
# Machines like this one still mount cgroup v1, which the kubelet refuses since v1.35 by default.
failCgroupV1: false
failSwapOn: false
clusterDNS: [$CLUSTER_DNS]
clusterDomain: $CLUSTER_DOMAIN
# No upstream resolver: pods resolve the cluster's names only.
resolvConf: ""
podLogsDir: $DIR/pod-logs
# The images were imported, not pulled: collecting them would lose them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
EOF
    run kubelet "$BIN/kubelet" --config "$DIR/kubelet.yaml" --kubeconfig "$DIR/kubelet.kubeconfig" \
        --root-dir "$DIR/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

    kubeconfig kube-proxy kube-proxy "$server"
    cat >"$DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $DIR/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$proxy_healthz
metricsBindAddress: 127.0.0.1:$proxy_metrics
nodePortAddresses: [$NODE_IP/32]
# Leave the machine's conntrack sysctls alone.
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
    run kube-proxy "$BIN/kube-proxy" --config "$DIR/kube-proxy.yaml"

    wait_for "node $NODE_NAME Ready" 90 kctl wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
    sed -e "s|%{CLUSTER_DNS}%|$CLUSTER_DNS|g" -e "s|%{CLUSTER_DOMAIN}%|$CLUSTER_DOMAIN|g" -e "s|%{COREDNS_IMAGE}%|$coredns_image|g" \
        "$ROOT/scripts/local-cluster/coredns.yaml" | kctl apply -f - >/dev/null
    wait_for "CoreDNS" 120 kctl -n kube-system rollout status deployment/coredns --timeout=1s

    # k3s's Helm controller, a process of its own here (k3s runs it inside the server), and the
    # Traefik k3s bundles, applied the way k3s applies it: a HelmChart carrying the chart.
    helm_controller="$(image_bin helm-controller)"
    helm="$(image_bin helm)"
    run helm-controller "$helm_controller" --kubeconfig "$DIR/kubeconfig" --default-job-image "$HELM_JOB_IMAGE"
    wait_for "the HelmChart CRD" 60 kctl get crd helmcharts.helm.cattle.io helmchartconfigs.helm.cattle.io
    "$helm" package "$ROOT/scripts/local-cluster/charts/traefik" -d "$DIR" >/dev/null
    chart="$(base64 -w0 "$DIR"/traefik-*.tgz)"
    # The chart's content is the spec's last field, appended by a builtin (it is over one
    # argument's limit), applied server-side (over client-side apply's annotation limit).
    {
        sed -e "s|%{TRAEFIK_REPOSITORY}%|$TRAEFIK_REPOSITORY|" -e "s|%{TRAEFIK_TAG}%|$traefik_tag|" "$ROOT/scripts/local-cluster/traefik.yaml"
        echo "  chartContent: $chart"
    } | kctl apply --server-side -f - >/dev/null
    rm "$DIR"/traefik-*.tgz
    # helm's own error is in the Job's log, which is not among the logs wait_for shows.
    if ! (wait_for "Traefik's install Job" 180 kctl -n kube-system wait --for=condition=complete job/helm-install-traefik --timeout=1s); then
        kctl -n kube-system logs job/helm-install-traefik --tail=30 >&2 || true
        exit 1
    fi
    wait_for "Traefik" 120 kctl -n kube-system rollout status deployment/traefik --timeout=1s
}

# The kubelet's own chains, which kube-proxy --cleanup leaves (pkg/kubelet/kubelet_network_linux.go).
node_kubelet_iptables_cleanup() {
    local t c
    # Best effort: a chain or rule already gone is fine.
    local -
    set +e
    iptables -D INPUT -j KUBE-FIREWALL 2>/dev/null
    iptables -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
    for t in filter nat mangle; do
        for c in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
            iptables -t "$t" -F "$c" 2>/dev/null && iptables -t "$t" -X "$c" 2>/dev/null
        done
    done
}

# Pods leave through the kubelet (which tears their network down), then the processes stop.
node_stop() {
    # Best effort, each step whatever the last one found: a task already gone, no mounts left, ...
    local -
    set +e
    local p
    if alive kubelet && [[ -f "$DIR/kubeconfig" ]]; then
        stop_process helm-controller kube-controller-manager kube-scheduler
        kctl delete pods --all --all-namespaces --grace-period=1 --wait --timeout=60s >/dev/null 2>&1 || log "pods not all deleted in 60s"
        for _ in $(seq 60); do [[ -z "$(ctrd tasks ls -q 2>/dev/null)" ]] && break; sleep 0.5; done
    fi
    # Containers the kubelet did not stop (it had died) are killed through containerd...
    local task
    for task in $(ctrd tasks ls -q 2>/dev/null); do ctrd tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1; done
    for _ in $(seq 20); do [[ -z "$(ctrd tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"')" ]] && break; sleep 0.5; done
    stop_process helm-controller kube-scheduler kube-proxy kubelet registry containerd
    # ... or, if it had died too, with their shims (a container's init is its shim's child).
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $DIR/containerd/containerd.sock"); do
        pkill -KILL -P "$p"; kill -KILL "$p"
    done 2>/dev/null
    [[ -f "$DIR/kube-proxy.yaml" ]] && "$(cat "$DIR/bin")/kube-proxy" --cleanup >/dev/null 2>&1
    node_kubelet_iptables_cleanup
    # What runc and the kubelet mounted under the state directory, deepest first.
    findmnt -rno TARGET | grep "^$DIR/" | sort -r | xargs -r umount -l
    return 0
}

# The bridge, once the API server is gone: it carries the API server's address, without which
# the API server's shutdown waits 20 s to take itself out of the `kubernetes` Endpoints.
node_network_down() {
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -f "$NODE_OWNER"
}
