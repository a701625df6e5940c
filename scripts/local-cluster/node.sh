# shellcheck shell=bash
# The node half of scripts/local-cluster.sh (`start --with-nodes [--nodes N]`), sourced by it: a
# kube-scheduler, then N nodes (default 3), each in a network namespace of its own with its own
# address on a private bridge, its own containerd (Debian's, with runc), kubelet, kube-proxy
# (iptables), kube-router's network policy controller (as k3s embeds it in every node), a CNI
# bridge for its own pod CIDR and routes to the other nodes' pod CIDRs; CoreDNS, an image
# registry, and k3s's Helm controller with the Traefik k3s bundles (scripts/local-cluster/charts),
# so pods really run. Nothing is pulled: every image is a binary built here (tools/images) and
# packed by pack-image, imported into each node's containerd under the name the manifests use, or
# pushed to the registry that the stack's pull Secret authenticates to.
#
# One such cluster a machine: the nodes own fixed names (the bridge, the namespaces, the
# addresses, their cgroups). Needs root.

# The private network, as the VMs' VPC: the control plane (API server, registry) on the bridge's
# own address, node i at .1i. Pods reach the API server through the `kubernetes` Service.
BRIDGE=hp0
HOST_IP=10.243.0.1
NODE_PREFIX=24
node_ip() { echo "10.243.0.$((10 + $1))"; }
# Node i's pods in 10.244.i.0/24, gateway .1 on its own bridge (a name inside its namespace).
CLUSTER_CIDR=10.244.0.0/16
pod_cidr() { echo "10.244.$1.0/24"; }
pod_gateway() { echo "10.244.$1.1"; }
node_name() { echo "local-node-$1"; }
node_netns() { echo "hp-node-$1"; }
# Each kubelet's pods under a cgroup of their own: two kubelets on one root would each manage
# (and clean up) the other's pod cgroups.
node_cgroup() { echo "hp-node-$1"; }
SERVICE_CIDR=10.0.0.0/24
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
# The engine tests' client (tools/images/pack/cmd/probe), on every node: no pull Secret needed.
PROBE_IMAGE=docker.io/hobby-platform/probe:local
REGISTRY_USER=local-deploy-token
# One node process of each kind a node; the ones wait_for watches.
NODE_KINDS="containerd kubelet kube-proxy kube-router"

kctl() { "$(cat "$DIR/bin")/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }
ctrd() { local i="$1"; shift; ctr --address "$DIR/node-$i/containerd/containerd.sock" --namespace k8s.io "$@"; }
# in_node I COMMAND...: COMMAND in node I's network namespace only (the mount namespace stays the
# machine's, so containerd sees the volumes the kubelet mounts). nsenter execs COMMAND, so a
# process started with `run NAME $(in_node_exec I) ...` is the pid that `run` records.
in_node() { local i="$1"; shift; nsenter --net="/run/netns/$(node_netns "$i")" -- "$@"; }
in_node_exec() { echo nsenter "--net=/run/netns/$(node_netns "$1")" --; }
node_count() { cat "$DIR/nodes"; }

node_processes() {
    local i k out="kube-scheduler registry helm-controller"
    for ((i = 1; i <= NODE_COUNT; i++)); do for k in $NODE_KINDS; do out+=" $k-$i"; done; done
    echo "$out"
}

# Debian's container runtime and the tools the node's parts call, installed where missing.
node_packages() {
    local missing=()
    command -v containerd >/dev/null || missing+=(containerd)
    command -v runc >/dev/null || missing+=(runc)
    [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v conntrack >/dev/null || missing+=(conntrack)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    # kube-router's policy controller keeps its address sets with the ipset tool.
    command -v ipset >/dev/null || missing+=(ipset)
    ((${#missing[@]} == 0)) && return
    log "installing from Debian: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

module_version() { go -C "$IMAGES_MODULES/$1" list -m -f '{{.Version}}' "$2"; }
module_dir() { go -C "$IMAGES_MODULES/$1" list -m -f '{{.Dir}}' "$2"; }

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
    for m in coredns registry traefik helm-controller helm kube-router; do image_bin "$m" >/dev/null; done
}

node_pki() {
    local i ip
    for ((i = 1; i <= NODE_COUNT; i++)); do
        ip="$(node_ip "$i")"
        issue "kubelet-client-$i" "/O=system:nodes/CN=system:node:$(node_name "$i")" "clientAuth"
        issue "kubelet-$i" "/CN=$(node_name "$i")" "serverAuth" "DNS:$(node_name "$i"),IP:$ip"
    done
    issue apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "clientAuth"
    issue scheduler "/CN=system:kube-scheduler" "clientAuth"
    issue kube-proxy "/CN=system:kube-proxy" "clientAuth"
    issue kube-router "/CN=system:kube-router" "clientAuth"
    issue registry "/CN=hobby-platform-local-registry" "serverAuth" "IP:$HOST_IP"
}

# Flags the API server needs once there are kubelets: listen where pods and nodes reach it, keep
# the `kubernetes` Service's endpoints, authorize kubelets as nodes, and talk to each kubelet (by
# its address: no DNS knows the node's name) over verified TLS with a client certificate.
node_apiserver_flags() {
    local pki="$DIR/pki"
    echo --bind-address "$HOST_IP" --advertise-address "$HOST_IP" \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP
}

# The bridge (the private network) and, for each node, its namespace, its end of a veth pair with
# its address, its pod bridge, and routes: the machine and every other node reach node i's pods
# through node i's address; cluster IPs from the machine go through node 1's kube-proxy, as from a
# process on node 1. No masquerading between nodes: a pod sees the other pod's own address, which
# is what network policies match.
node_network_up() {
    local i j ns ip owner=""
    # Two starts never run at once: each holds this lock until it exits.
    exec {NODE_LOCK_FD}>>"$NODE_OWNER.lock"
    flock -n "$NODE_LOCK_FD" || die "another cluster with nodes is starting on this machine; stop it once it is up (HP_LOCAL_CLUSTER_DIR=<its directory> $0 stop)"
    [[ -f "$NODE_OWNER" ]] && owner="$(cat "$NODE_OWNER")"
    if [[ -n "$owner" ]]; then
        node_cluster_alive "$owner" && die "a cluster with nodes is already running ($owner); stop it first with HP_LOCAL_CLUSTER_DIR=$owner $0 stop"
        # Dead without its stop (a killed job, a machine restored from a snapshot): its network,
        # containers, mounts and cgroups are cleaned up, as its stop would have. A directory of
        # the same name as this start's is this start's now.
        log "removing what a cluster with nodes left when it died without its stop ($owner)"
        if [[ "$owner" == "$DIR" ]]; then node_remains_down ""; else node_remains_down "$owner"; fi
    elif ip link show "$BRIDGE" >/dev/null 2>&1; then
        die "the bridge $BRIDGE exists but no cluster with nodes owns it ($NODE_OWNER is missing); if it is not in use, remove it: ip link del $BRIDGE"
    fi
    echo "$DIR" >"$NODE_OWNER"
    echo "$NODE_COUNT" >"$DIR/nodes"
    echo "$NETWORK_POLICY" >"$DIR/network-policy"
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOST_IP/$NODE_PREFIX" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    sysctl -qw net.ipv4.ip_forward=1
    for ((i = 1; i <= NODE_COUNT; i++)); do
        ns="$(node_netns "$i")" ip="$(node_ip "$i")"
        ip netns add "$ns"
        # Named eth0 inside, once there (the machine has an eth0 of its own).
        ip link add "hpv$i" type veth peer name "hpn$i"
        ip link set "hpn$i" netns "$ns"
        in_node "$i" ip link set "hpn$i" name eth0
        ip link set "hpv$i" master "$BRIDGE" up
        in_node "$i" ip link set lo up
        in_node "$i" ip addr add "$ip/$NODE_PREFIX" dev eth0
        in_node "$i" ip link set eth0 up
        in_node "$i" ip route add default via "$HOST_IP"
        in_node "$i" sysctl -qw net.ipv4.ip_forward=1
        # Service traffic between two pods on one node's bridge goes through iptables
        # (kube-proxy's and kube-router's rules); the setting is per network namespace.
        in_node "$i" sysctl -qw net.bridge.bridge-nf-call-iptables=1
        ip route add "$(pod_cidr "$i")" via "$ip"
        for ((j = 1; j <= NODE_COUNT; j++)); do
            ((j == i)) || in_node "$i" ip route add "$(pod_cidr "$j")" via "$(node_ip "$j")"
        done
    done
    ip route add "$SERVICE_CIDR" via "$(node_ip 1)"
}

# The kubelet refuses a cgroupRoot that does not exist; cpuset's must hold CPUs and memory nodes.
node_cgroups_up() {
    local i="$1" c cg
    cg="$(node_cgroup "$i")"
    for c in /sys/fs/cgroup/*/; do
        [[ -d "$c" ]] || continue
        mkdir -p "$c$cg"
    done
    if [[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ]]; then
        cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$cg/cpuset.cpus"
        cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$cg/cpuset.mems"
    fi
}

node_cgroups_down() {
    local i="$1" c
    for c in /sys/fs/cgroup/*/"$(node_cgroup "$i")"; do
        [[ -d "$c" ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

# node_kill_orphans I: containers whose shim died (a node killed, or a whole cluster dead without
# its stop) live on, reparented to init, in node I's cgroups, which only its kubelet uses.
node_kill_orphans() {
    local procs
    for _ in $(seq 20); do
        procs="$(find "/sys/fs/cgroup/pids/$(node_cgroup "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null || true)"
        [[ -z "$procs" ]] && break
        xargs -r kill -KILL <<<"$procs" 2>/dev/null || true
        sleep 0.25
    done
    return 0
}

# node_cluster_alive DIR: a process of the cluster whose state directory is DIR still runs (every
# one names it: etcd's data, each node's containerd and kubelet). Its shims do too, but they
# outlive a killed cluster, and its stop kills them.
node_cluster_alive() {
    local p
    for p in $(pgrep -f -- "$1/" || true); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == containerd-shim* ]] || return 0
    done
    return 1
}

# Pack each node image once, import it into every node's containerd.
node_images() {
    local pack coredns_image traefik_tag i img
    pack="$(image_bin pack pack-image)"
    coredns_image="$1" traefik_tag="$2"
    mkdir -p "$DIR/images"
    "$pack" -binary "$(image_bin pack pause)" -name "$PAUSE_IMAGE" -out "$DIR/images/pause.tar"
    "$pack" -binary "$(image_bin coredns)" -name "$coredns_image" -out "$DIR/images/coredns.tar"
    # As upstream's image: Traefik is the entrypoint (the chart passes flags only), user root
    # unless the pod says otherwise (the chart does: 65532).
    "$pack" -binary "$(image_bin traefik)" -name "docker.io/$TRAEFIK_REPOSITORY:$traefik_tag" -out "$DIR/images/traefik.tar"
    # klipper-helm's user and home (its Dockerfile); the Job mounts emptyDirs under that home.
    "$pack" -binary "$(image_bin helm entry)" -with "$(image_bin helm)" -name "$HELM_JOB_IMAGE" \
        -user 1000:1000 -env HOME=/home/klipper-helm -out "$DIR/images/helm.tar"
    "$pack" -binary "$(image_bin pack probe)" -name "$PROBE_IMAGE" -user 65532:65532 -out "$DIR/images/probe.tar"
    for ((i = 1; i <= NODE_COUNT; i++)); do
        for img in "$DIR"/images/*.tar; do ctrd "$i" images import "$img" >/dev/null; done
    done
    rm -r "$DIR/images"
}

# node_config I REGISTRY_PORT: node I's containerd, CNI, kubelet and kube-proxy configuration.
node_config() {
    local i="$1" registry_port="$2" n pki="$DIR/pki" ip name
    n="$DIR/node-$i" ip="$(node_ip "$i")" name="$(node_name "$i")"
    mkdir -p "$n/containerd/certs.d/$HOST_IP:$registry_port" "$n/cni"
    # containerd: state under the node's directory, its bridge network, the registry's CA, runc
    # with cgroupfs and a state root of its own (runc's default one is shared by every containerd).
    cat >"$n/containerd/config.toml" <<EOF
version = 2
root = "$n/containerd/root"
state = "$n/containerd/state"
[grpc]
  address = "$n/containerd/containerd.sock"
[ttrpc]
  address = "$n/containerd/containerd.sock.ttrpc"
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
        Root = "$n/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$n/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$n/containerd/certs.d"
EOF
    cat >"$n/containerd/certs.d/$HOST_IP:$registry_port/hosts.toml" <<EOF
server = "https://$HOST_IP:$registry_port"
[host."https://$HOST_IP:$registry_port"]
  capabilities = ["pull", "resolve"]
  ca = "$pki/ca.crt"
EOF
    # No ipMasq: traffic to other nodes' pods keeps the pod's address (routes carry it).
    cat >"$n/cni/10-hobby-platform.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "hobby-platform",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$(pod_cidr "$i")", "gateway": "$(pod_gateway "$i")" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$n/cni-ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    cat >"$n/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-$i.crt
tlsPrivateKeyFile: $pki/kubelet-$i.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$n/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$(node_cgroup "$i")
# Machines like this one still mount cgroup v1, which the kubelet refuses since v1.35 by default.
failCgroupV1: false
failSwapOn: false
clusterDNS: [$CLUSTER_DNS]
clusterDomain: $CLUSTER_DOMAIN
# No upstream resolver: pods resolve the cluster's names only.
resolvConf: ""
podLogsDir: $n/pod-logs
# The images were imported, not pulled: collecting them would lose them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
EOF
    cat >"$n/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $DIR/kube-proxy.kubeconfig }
hostnameOverride: $name
mode: iptables
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$ip/32]
# Leave the machine's conntrack sysctls alone.
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
}

# node_up I: node I's processes, in its namespace (containerd already running).
node_up() {
    local i="$1" n name
    n="$DIR/node-$i" name="$(node_name "$i")"
    # shellcheck disable=SC2046 # the prefix's words
    run "kubelet-$i" $(in_node_exec "$i") "$BIN/kubelet" --config "$n/kubelet.yaml" --kubeconfig "$DIR/kubelet-$i.kubeconfig" \
        --root-dir "$n/kubelet" --hostname-override "$name" --node-ip "$(node_ip "$i")"
    # shellcheck disable=SC2046
    run "kube-proxy-$i" $(in_node_exec "$i") "$BIN/kube-proxy" --config "$n/kube-proxy.yaml"
}

# node_policy_up I: kube-router's network policy controller on node I, once its Node exists (it
# exits when it cannot find it). k3s runs this controller inside every node's agent, with these
# roles off (flannel routes, kube-proxy proxies). Not with --without-network-policy: tests that
# ask a project's Service from the machine, which the project's policies refuse (the machine's
# requests reach pods from node 1's address, not the pods' own node), start without it.
node_policy_up() {
    local i="$1" name
    [[ "$(cat "$DIR/network-policy")" == 1 ]] || return 0
    name="$(node_name "$i")"
    # shellcheck disable=SC2046
    run "kube-router-$i" $(in_node_exec "$i") "$(image_bin kube-router)" --kubeconfig "$DIR/kube-router.kubeconfig" \
        --hostname-override "$name" --run-firewall=true --run-router=false --run-service-proxy=false \
        --enable-cni=false --service-cluster-ip-range "$SERVICE_CIDR" --health-port 0
}

node_containerd_up() {
    local i="$1"
    # shellcheck disable=SC2046
    run "containerd-$i" $(in_node_exec "$i") containerd --config "$DIR/node-$i/containerd/config.toml"
    wait_for "containerd on node $i" 30 ctrd "$i" version
}

# The node's Node object: the pod CIDR it routes (set once, from empty, as the node IPAM
# controller would), and the roles k3s gives a server (the upgrade Plan selects on them).
node_register() {
    local i="$1" name
    name="$(node_name "$i")"
    wait_for "node $name registered" 60 kctl get node "$name"
    kctl patch node "$name" --type merge -p "{\"spec\":{\"podCIDR\":\"$(pod_cidr "$i")\",\"podCIDRs\":[\"$(pod_cidr "$i")\"]}}" >/dev/null
    kctl label node "$name" node-role.kubernetes.io/control-plane=true node-role.kubernetes.io/master=true node-role.kubernetes.io/etcd=true >/dev/null
}

node_start() {
    local pki="$DIR/pki" server="https://$HOST_IP:$1" coredns_image traefik_tag registry_port password helm_controller helm chart i
    read -r registry_port < <(free_ports 1)
    # The API server's kubelet client gets what kubeadm grants it: the kubelet API, no more.
    kctl create clusterrolebinding kube-apiserver-kubelet-api-admin --clusterrole system:kubelet-api-admin --user kube-apiserver-kubelet-client >/dev/null
    # kube-router's own ClusterRole, from its release's manifest (the NetworkPolicy part reads
    # pods, namespaces, nodes and policies).
    awk '/^kind: ClusterRole$/,/^---/' "$(module_dir kube-router github.com/cloudnativelabs/kube-router/v2)/daemonset/generic-kuberouter.yaml" |
        grep -v '^---' | kctl apply -f - >/dev/null
    kctl create clusterrolebinding kube-router --clusterrole kube-router --user system:kube-router >/dev/null

    kubeconfig scheduler scheduler "$server"
    run kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$DIR/scheduler.kubeconfig" --leader-elect=false --secure-port 0
    kubeconfig kube-proxy kube-proxy "$server"
    kubeconfig kube-router kube-router "$server"

    for ((i = 1; i <= NODE_COUNT; i++)); do
        node_config "$i" "$registry_port"
        node_cgroups_up "$i"
        node_containerd_up "$i"
    done
    coredns_image="$COREDNS_REPOSITORY:$(module_version coredns github.com/coredns/coredns | sed 's/^v//')"
    traefik_tag="$(module_version traefik github.com/traefik/traefik/v3 | sed 's/^v//')"
    node_images "$coredns_image" "$traefik_tag"

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
  addr: $HOST_IP:$registry_port
  tls: { certificate: "$pki/registry.crt", key: "$pki/registry.key" }
auth:
  htpasswd: { realm: hobby-platform-local, path: "$DIR/registry.htpasswd" }
EOF
    OTEL_TRACES_EXPORTER=none run registry "$(image_bin registry)" serve "$DIR/registry.yml"
    echo "$HOST_IP:$registry_port" >"$DIR/registry"
    echo "$REGISTRY_USER" >"$DIR/registry-username"
    wait_for registry 30 curl -s --cacert "$pki/ca.crt" -o /dev/null "https://$HOST_IP:$registry_port/v2/"

    for ((i = 1; i <= NODE_COUNT; i++)); do
        kubeconfig "kubelet-$i" "kubelet-client-$i" "$server"
        node_up "$i"
    done
    for ((i = 1; i <= NODE_COUNT; i++)); do node_register "$i"; done
    for ((i = 1; i <= NODE_COUNT; i++)); do node_policy_up "$i"; done
    for ((i = 1; i <= NODE_COUNT; i++)); do
        wait_for "node $(node_name "$i") Ready" 90 kctl wait --for=condition=Ready "node/$(node_name "$i")" --timeout=1s
    done
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

# node_kill I: node I dies as a VM does: its processes and containers are killed at once, nothing
# is drained or deleted, and its address stops answering.
node_kill() {
    local i="$1" p
    ip link set "hpv$i" down
    for p in $NODE_KINDS; do
        [[ -f "$DIR/$p-$i.pid" ]] && kill -KILL "$(cat "$DIR/$p-$i.pid")" 2>/dev/null
        rm -f "$DIR/$p-$i.pid"
    done
    node_kill_shims "$i"
    return 0
}

# A container's init is its shim's child: both go.
node_kill_shims() {
    local p
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $DIR/node-$1/containerd/containerd.sock"); do
        pkill -KILL -P "$p"; kill -KILL "$p"
    done 2>/dev/null
    return 0
}

# node_restart I: what a k3s upgrade does to a drained node: k3s (its kubelet, kube-proxy, network
# policy controller and containerd) restarts; running containers (DaemonSets') keep running.
node_restart() {
    local i="$1" k procs=()
    for k in $NODE_KINDS; do procs+=("$k-$i"); done
    stop_process "${procs[@]}"
    node_containerd_up "$i"
    node_up "$i"
    node_policy_up "$i"
    # The Node still says Ready from before: the new kubelet's own health first.
    wait_for "the kubelet of node $i" 60 in_node "$i" curl -sf http://127.0.0.1:10248/healthz
    wait_for "node $(node_name "$i") Ready" 90 kctl wait --for=condition=Ready "node/$(node_name "$i")" --timeout=1s
}

# Pods leave through the kubelets (which tear their networks down), then the processes stop.
node_stop() {
    # Best effort, each step whatever the last one found: a task already gone, no mounts left, ...
    local -
    set +e
    local i k task count alive_kubelet=0 ns
    count="$(node_count 2>/dev/null || echo 0)"
    for ((i = 1; i <= count; i++)); do alive "kubelet-$i" && alive_kubelet=1; done
    if ((alive_kubelet)) && [[ -f "$DIR/kubeconfig" ]] && kctl get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
        stop_process helm-controller kube-controller-manager kube-scheduler
        # A dead node's pods would wait for its kubelet forever: removed from the API at once.
        for ((i = 1; i <= count; i++)); do
            alive "kubelet-$i" || kctl delete pods --all-namespaces --field-selector "spec.nodeName=$(node_name "$i")" --force --grace-period=0 >/dev/null 2>&1
        done
        kctl delete pods --all --all-namespaces --grace-period=1 --wait --timeout=60s >/dev/null 2>&1 || log "pods not all deleted in 60s"
    fi
    for ((i = 1; i <= count; i++)); do
        for _ in $(seq 60); do [[ -z "$(ctrd "$i" tasks ls -q 2>/dev/null)" ]] && break; sleep 0.5; done
        # Containers the kubelet did not stop (it had died) are killed through containerd...
        for task in $(ctrd "$i" tasks ls -q 2>/dev/null); do ctrd "$i" tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1; done
    done
    for ((i = 1; i <= count; i++)); do
        for _ in $(seq 20); do [[ -z "$(ctrd "$i" tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"')" ]] && break; sleep 0.5; done
    done
    local procs=(helm-controller kube-scheduler registry)
    for ((i = 1; i <= count; i++)); do for k in $NODE_KINDS; do procs+=("$k-$i"); done; done
    stop_process "${procs[@]}"
    # ... or, if it had died too, with their shims; or, if they had died too, by their cgroups.
    for ((i = 1; i <= count; i++)); do node_kill_shims "$i"; node_kill_orphans "$i"; done
    # What runc and the kubelets mounted under the state directory, deepest first.
    findmnt -rno TARGET | grep "^$DIR/" | sort -r | xargs -r umount -l
    # Pod network namespaces of a node that died (its kubelet never tore them down): made after
    # this cluster started, and with no process left in them.
    find /run/netns -maxdepth 1 -name 'cni-*' -newer "$DIR/nodes" -printf '%f\n' 2>/dev/null | while read -r ns; do
        [[ -n "$(ip netns pids "$ns" 2>/dev/null)" ]] || ip netns del "$ns"
    done
    # A node's namespace takes its iptables rules, pod bridge, routes and veth with it.
    for ((i = 1; i <= count; i++)); do
        ip netns del "$(node_netns "$i")" 2>/dev/null
        node_cgroups_down "$i"
    done
    return 0
}

# node_remains_down DIR: a dead cluster's stop, run with its state directory (gone, or "" for
# none); then the node namespaces and cgroups by name, in case its node count went with the
# directory. Its pid files are old: a pid there may be another process's now, so its processes
# are found by their command lines and cgroups instead.
node_remains_down() {
    local -
    set +e
    # Dynamic scope: the stop's functions see the dead cluster's directory.
    local ns DIR="${1:-/nonexistent}"
    rm -f "$DIR"/*.pid
    pkill -KILL -f -- "$DIR/"
    node_stop
    node_network_down
    for ns in $(ip netns list | awk '$1 ~ /^hp-node-[0-9]+$/ { print $1 }'); do
        node_kill_orphans "${ns#hp-node-}"
        ip netns del "$ns"
        node_cgroups_down "${ns#hp-node-}"
    done
    [[ "$DIR" == /nonexistent ]] || rm -rf "$DIR"
}

# The bridge, once the API server is gone: it carries the API server's address, without which
# the API server's shutdown waits 20 s to take itself out of the `kubernetes` Endpoints.
node_network_down() {
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -f "$NODE_OWNER"
}
