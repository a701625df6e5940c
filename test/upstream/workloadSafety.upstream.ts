// The facts a service's safety rests on (issue 34), read from the upstream sources: the
// scheduler's spread over nodes, the taints of draining and lost nodes, eviction and
// PodDisruptionBudgets, Pod Security's version labels at the Kubernetes release the default k3s
// runs; k3s's network policy controller; where and how k3s runs Traefik; cert-manager's HTTP-01
// solver pods.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PROVIDER_SETTINGS } from "../../components/lib/kubernetes";
import { CERT_MANAGER_VERSION } from "../../components/platform/certManager";
import {
    FIRST_BUILD_ANNOTATION,
    INGRESS_CONTROLLER_PEER,
    LOST_NODE_TOLERATION_SECONDS,
    spreadOverNodes,
} from "../../components/workload/microservice";
import { ACME_SOLVER, podSecurityLabels } from "../../components/workload/projectNamespace";
import { DEFAULT_K3S_VERSION, kubernetesMinor } from "../../config";
import { KUBELET_EVICTION_RESERVE } from "../../lib/capacity";
import { goModuleFile, goStringConstant, requiredVersion } from "../helpers/upstream";

const K8S_VERSION = DEFAULT_K3S_VERSION.split("+")[0];
const STAGING_VERSION = K8S_VERSION.replace(/^v1\./, "v0.");
const k8s = (file: string) => goModuleFile("k8s.io/kubernetes", K8S_VERSION, file);
/** The minor at which a feature gate's spec says what it does by default: the last entry not after it. */
function featureAt(features: string, gate: string, minor: string): string {
    const spec = new RegExp(`\\n\\t${gate}: \\{([\\s\\S]*?)\\n\\t\\},`).exec(features)?.[1];
    assert.ok(spec, `no feature gate ${gate}`);
    const entries = [...spec.matchAll(/Version: version\.MustParse\("1\.(\d+)"\), Default: (true|false), PreRelease: featuregate\.(\w+)/g)];
    const at = Number(minor.split(".")[1]);
    const last = entries.filter((e) => Number(e[1]) <= at).pop();
    assert.ok(last, `${gate} has no entry up to ${minor}`);
    return `${last[3]} ${last[2] === "true" ? "on" : "off"}`;
}

describe(`Kubernetes ${K8S_VERSION}: spreading over nodes, drains and lost nodes`, function () {
    this.timeout(300_000);
    const SPREAD = "pkg/scheduler/framework/plugins/podtopologyspread/common.go";

    it("the scheduler counts a node it may not place the pod on in the spread unless nodeTaintsPolicy is Honor, which the services set", () => {
        const common = k8s(SPREAD);
        // Defaults when a constraint sets no policy: node affinity honoured, taints ignored.
        assert.match(common, /NodeAffinityPolicy: v1\.NodeInclusionPolicyHonor, +\/\/ If NodeAffinityPolicy is nil/);
        assert.match(common, /NodeTaintsPolicy: +v1\.NodeInclusionPolicyIgnore, \/\/ If NodeTaintsPolicy is nil/);
        // Honor: a node with a NoSchedule or NoExecute taint the pod does not tolerate is no domain.
        assert.match(
            common,
            /if tsc\.NodeTaintsPolicy == v1\.NodeInclusionPolicyHonor \{\s+if _, untolerated := v1helper\.FindMatchingUntoleratedTaint\(node\.Spec\.Taints, pod\.Spec\.Tolerations, helper\.DoNotScheduleTaintsFilterFunc\(\)\); untolerated \{\s+return false/,
        );
        assert.match(
            k8s("pkg/scheduler/framework/plugins/helper/taint.go"),
            /return t\.Effect == v1\.TaintEffectNoSchedule \|\| t\.Effect == v1\.TaintEffectNoExecute/,
        );
        // A terminating pod (an evicted one, or one on a lost node) is not counted.
        assert.match(common, /if p\.Pod\.DeletionTimestamp != nil \|\| p\.Pod\.Namespace != ns \{\s+continue/);
        const spread = spreadOverNodes("svc");
        assert.deepStrictEqual([spread.nodeTaintsPolicy, spread.nodeAffinityPolicy, spread.whenUnsatisfiable], ["Honor", "Honor", "DoNotSchedule"]);
    });

    it("a cordoned node and a NotReady or unreachable one carry NoSchedule taints that pods do not tolerate (only the NoExecute ones, for 300 s)", () => {
        const lifecycle = k8s("pkg/controller/nodelifecycle/node_lifecycle_controller.go");
        assert.match(lifecycle, /if node\.Spec\.Unschedulable \{[\s\S]{0,120}Key: +v1\.TaintNodeUnschedulable,\s+Effect: v1\.TaintEffectNoSchedule,/);
        assert.match(lifecycle, /v1\.NodeReady: \{\s+v1\.ConditionFalse: +v1\.TaintNodeNotReady,\s+v1\.ConditionUnknown: v1\.TaintNodeUnreachable,/);
        assert.match(
            lifecycle,
            /if taintKey, found := taintMap\[condition\.Status\]; found \{\s+taints = append\(taints, v1\.Taint\{\s+Key: +taintKey,\s+Effect: v1\.TaintEffectNoSchedule,/,
        );
        const tolerations = k8s("plugin/pkg/admission/defaulttolerationseconds/admission.go");
        for (const key of ["TaintNodeNotReady", "TaintNodeUnreachable"])
            assert.match(
                tolerations,
                new RegExp(`Key: +v1\\.${key},\\s+Operator: +api\\.TolerationOpExists,\\s+Effect: +api\\.TaintEffectNoExecute,`),
            );
        // A toleration of one effect does not tolerate a taint of another.
        const toleration = goModuleFile("k8s.io/api", STAGING_VERSION, "core/v1/toleration.go");
        assert.match(toleration, /if len\(t\.Effect\) > 0 && t\.Effect != taint\.Effect \{\s+return false/);
        const wellKnown = goModuleFile("k8s.io/api", STAGING_VERSION, "core/v1/well_known_taints.go");
        assert.strictEqual(goStringConstant(wellKnown, "TaintNodeUnschedulable"), "node.kubernetes.io/unschedulable");
        assert.strictEqual(goStringConstant(wellKnown, "TaintNodeNotReady"), "node.kubernetes.io/not-ready");
        assert.strictEqual(goStringConstant(wellKnown, "TaintNodeUnreachable"), "node.kubernetes.io/unreachable");
    });

    it("a lost node's pods are evicted when their shortest NoExecute toleration ends: the services' 60 s replaces the default 300 s, 50 s after the last heartbeat", () => {
        // The admission plugin adds its 300 s only to a pod with no toleration of that key and effect.
        const admission = k8s("plugin/pkg/admission/defaulttolerationseconds/admission.go");
        assert.match(admission, /defaultNotReadyTolerationSeconds = flag\.Int64\("default-not-ready-toleration-seconds", 300,/);
        assert.match(admission, /defaultUnreachableTolerationSeconds = flag\.Int64\("default-unreachable-toleration-seconds", 300,/);
        assert.match(
            admission,
            /if \(toleration\.Key == v1\.TaintNodeUnreachable \|\| len\(toleration\.Key\) == 0\) &&\s+\(toleration\.Effect == api\.TaintEffectNoExecute \|\| len\(toleration\.Effect\) == 0\) \{\s+toleratesNodeUnreachable = true/,
        );
        assert.match(admission, /if !toleratesNodeUnreachable \{\s+pod\.Spec\.Tolerations = append\(pod\.Spec\.Tolerations, unreachableToleration\)/);
        // The Node lifecycle controller's NoExecute taints: not-ready on Ready=False, unreachable on Unknown.
        const lifecycle = k8s("pkg/controller/nodelifecycle/node_lifecycle_controller.go");
        assert.match(lifecycle, /UnreachableTaintTemplate = &v1\.Taint\{\s+Key: +v1\.TaintNodeUnreachable,\s+Effect: v1\.TaintEffectNoExecute,/);
        assert.match(lifecycle, /NotReadyTaintTemplate = &v1\.Taint\{\s+Key: +v1\.TaintNodeNotReady,\s+Effect: v1\.TaintEffectNoExecute,/);
        assert.match(
            k8s("pkg/controller/nodelifecycle/config/v1alpha1/defaults.go"),
            /obj\.NodeMonitorGracePeriod = metav1\.Duration\{Duration: 50 \* time\.Second\}/,
        );
        // The taint eviction controller waits the shortest tolerationSeconds of the matching tolerations.
        assert.match(
            k8s("pkg/controller/tainteviction/taint_eviction.go"),
            /func getMinTolerationTime[\s\S]{0,400}\} else if tolerationSeconds < minTolerationTime \{\s+minTolerationTime = tolerationSeconds/,
        );
        assert.ok(LOST_NODE_TOLERATION_SECONDS > 0 && LOST_NODE_TOLERATION_SECONDS < 300);
    });

    it("the fields the pod template uses are on by default at this release: node inclusion policies, matchLabelKeys, the preStop sleep", () => {
        const features = k8s("pkg/features/kube_features.go");
        const minor = kubernetesMinor(DEFAULT_K3S_VERSION);
        assert.strictEqual(featureAt(features, "NodeInclusionPolicyInPodTopologySpread", minor), "GA on");
        assert.strictEqual(featureAt(features, "MatchLabelKeysInPodTopologySpread", minor), "Beta on");
        assert.strictEqual(featureAt(features, "PodLifecycleSleepAction", minor), "Beta on");
    });

    it("the kubelet keeps 100Mi free on a node by default (hard eviction), which the capacity model sets aside on every node", () => {
        const defaults = k8s("pkg/kubelet/eviction/defaults_linux.go");
        assert.match(defaults, /var DefaultEvictionHard = map\[string\]string\{\s+"memory\.available": +"100Mi",/);
        assert.strictEqual(KUBELET_EVICTION_RESERVE.memory, 100 * 2 ** 20);
    });

    it("an eviction is refused (429) while the budget allows no disruption; maxUnavailable 1 allows one; an unready pod goes with AlwaysAllow", () => {
        const eviction = k8s("pkg/registry/core/pod/storage/eviction.go");
        assert.match(
            eviction,
            /if pdb\.Status\.DisruptionsAllowed == 0 \{\s+err := errors\.NewTooManyRequests\("Cannot evict pod as it would violate the pod's disruption budget\."/,
        );
        assert.match(eviction, /pdb\.Spec\.UnhealthyPodEvictionPolicy != nil && \*pdb\.Spec\.UnhealthyPodEvictionPolicy == policyv1\.AlwaysAllow/);
        const disruption = k8s("pkg/controller/disruption/disruption.go");
        assert.match(disruption, /desiredHealthy = expectedCount - int32\(maxUnavailable\)/);
    });
});

describe(`Pod Security admission ${STAGING_VERSION}: the version label`, function () {
    this.timeout(300_000);
    it("takes `v1.<minor>` (or latest) for enforce, warn and audit, as the project namespaces pin it", () => {
        const constants = goModuleFile("k8s.io/pod-security-admission", STAGING_VERSION, "api/constants.go");
        const helpers = goModuleFile("k8s.io/pod-security-admission", STAGING_VERSION, "api/helpers.go");
        assert.match(constants, /labelPrefix = "pod-security\.kubernetes\.io\/"/);
        for (const mode of ["enforce", "warn", "audit"]) {
            const Mode = mode[0].toUpperCase() + mode.slice(1);
            assert.match(constants, new RegExp(`${Mode}LevelLabel += labelPrefix \\+ "${mode}"`));
            assert.match(constants, new RegExp(`${Mode}VersionLabel += labelPrefix \\+ "${mode}-version"`));
        }
        const versionRegexp = new RegExp(/var versionRegexp = regexp\.MustCompile\(`([^`]+)`\)/.exec(helpers)![1]);
        const labels = podSecurityLabels("restricted", kubernetesMinor(DEFAULT_K3S_VERSION));
        for (const mode of ["enforce", "warn", "audit"]) assert.match(labels[`pod-security.kubernetes.io/${mode}-version`], versionRegexp);
    });
});

describe("k3s's network policy controller (kube-router, k3s's fork)", function () {
    this.timeout(300_000);
    // k3s's go.mod replaces github.com/cloudnativelabs/kube-router/v2 with this fork (k3s at
    // c5b158798933, v1.35.1-rc); the module proxy here serves no k3s v1.33.5+k3s1 to read its own pin.
    const FORK = ["github.com/k3s-io/kube-router/v2", "v2.6.3-k3s1"] as const;
    it("admits traffic to a pod from its own node, so the kubelet's probes pass under the projects' default deny", () => {
        const pod = goModuleFile(...FORK, "pkg/controllers/netpol/pod.go");
        assert.match(pod, /"-m", "addrtype", "--src-type", "LOCAL", "-d", ip, "-j", "ACCEPT"/);
    });
});

describe("Traefik as k3s runs it: a HelmChart `traefik` in kube-system, installed into its own namespace", function () {
    this.timeout(300_000);
    it("labels its pods app.kubernetes.io/name=traefik, and the namespace kube-system is selected by its name label", () => {
        const chartDir = path.join(__dirname, "..", "..", "scripts", "local-cluster", "charts", "traefik");
        const chart = YAML.parse(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
        assert.strictEqual(chart.name, "traefik");
        const helpers = fs.readFileSync(path.join(chartDir, "templates", "_helpers.tpl"), "utf8");
        assert.match(helpers, /define "traefik\.name" -\}\}\s+\{\{- default \.Chart\.Name \.Values\.nameOverride/);
        assert.match(helpers, /define "traefik\.labelselector" -\}\}\s+app\.kubernetes\.io\/name: \{\{ template "traefik\.name" \. \}\}/);
        // k3s's HelmChart (manifests/traefik.yaml) names no nameOverride, and has no targetNamespace.
        const k3sChart = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "local-cluster", "traefik.yaml"), "utf8"));
        assert.deepStrictEqual(
            [k3sChart.metadata.name, k3sChart.metadata.namespace, k3sChart.spec.targetNamespace],
            ["traefik", "kube-system", undefined],
        );
        assert.ok(!("nameOverride" in YAML.parse(k3sChart.spec.valuesContent)));
        // The Helm controller installs a chart without targetNamespace into the HelmChart's namespace.
        const controller = goModuleFile("github.com/k3s-io/helm-controller", "v0.17.7", "pkg/controllers/chart/chart.go");
        assert.match(
            controller,
            /targetNamespace := chart\.Namespace\s+if len\(chart\.Spec\.TargetNamespace\) != 0 \{\s+targetNamespace = chart\.Spec\.TargetNamespace/,
        );
        // The API server labels every namespace with its name (NamespaceDefaultLabelName).
        const core = goModuleFile("k8s.io/api", STAGING_VERSION, "core/v1/well_known_labels.go");
        assert.strictEqual(goStringConstant(core, "LabelMetadataName"), "kubernetes.io/metadata.name");
        assert.deepStrictEqual(INGRESS_CONTROLLER_PEER, {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
        });
    });
});

describe(`cert-manager ${CERT_MANAGER_VERSION}: the HTTP-01 solver pods Traefik must reach`, function () {
    this.timeout(300_000);
    it("are labelled acme.cert-manager.io/http01-solver=true and listen on 8089, as the project's solver policy admits", () => {
        const m = (file: string) => goModuleFile("github.com/cert-manager/cert-manager", CERT_MANAGER_VERSION, file);
        assert.strictEqual(goStringConstant(m("pkg/apis/acme/v1/types.go"), "SolverIdentificationLabelKey"), Object.keys(ACME_SOLVER.labels)[0]);
        assert.match(m("pkg/issuer/acme/http/pod.go"), /cmacme\.SolverIdentificationLabelKey: solverIdent,/);
        assert.match(m("pkg/issuer/acme/http/pod.go"), /solverIdent := "true"/);
        assert.match(m("pkg/issuer/acme/http/http.go"), new RegExp(`acmeSolverListenPort = ${ACME_SOLVER.port}\\b`));
    });
});

describe("pulumi-kubernetes (the engine tests' provider build): awaiting, ignoreChanges under server-side apply, refresh", function () {
    this.timeout(300_000);
    const MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4";
    const file = (f: string) =>
        goModuleFile(MODULE, requiredVersion(path.join(__dirname, "..", "..", "tools", "providers", "kubernetes"), MODULE), f);

    it("skips awaiting an object whose inputs of this create or update carry pulumi.com/skipAwait (so an update without it is awaited)", () => {
        const annotations = file("pkg/metadata/annotations.go");
        assert.match(annotations, /AnnotationPrefix += "pulumi\.com\/"/);
        assert.match(annotations, /AnnotationSkipAwait += AnnotationPrefix \+ "skipAwait"/);
        assert.strictEqual(FIRST_BUILD_ANNOTATION, "pulumi.com/skipAwait");
        assert.match(file("pkg/metadata/overrides.go"), /if SkipAwaitLogic\(inputs\) \{\s+return condition\.NewImmediate\(logger, obj\), true, nil/);
    });

    it("replaces a Secret (or ConfigMap) whose data changes unless the provider makes them mutable, as the stack's provider does", () => {
        const diff = file("pkg/provider/diff.go");
        assert.match(
            diff,
            /if clients\.IsSecret\(obj\) && !\(k\.enableSecretMutable && !clients\.IsImmutable\(obj\)\) \{\s+props = append\(props, properties\{"\.type", "\.stringData", "\.data"\}\.\.\.\)/,
        );
        assert.match(diff, /clients\.IsConfigMap\(obj\) && !\(k\.enableConfigMapMutable && !clients\.IsImmutable\(obj\)\)/);
        assert.deepStrictEqual([PROVIDER_SETTINGS.enableSecretMutable, PROVIDER_SETTINGS.enableConfigMapMutable], [true, true]);
    });

    it("refresh keeps the live values at the inputs' paths (CI's removal of the mark reaches the state), and an ignored field another manager owns is left out of the apply", () => {
        assert.match(file("pkg/provider/provider.go"), /liveInputs := pruneLiveState\(liveObj, oldInputs\)/);
        const awaitGo = file("pkg/await/await.go");
        // The autoscaler's spec.replicas: not sent (no reset, no conflict); while the stack co-owns it, its live value is.
        assert.match(
            awaitGo,
            /if theirFields\.Has\(pe\) && !ourFields\.Has\(pe\) \{\s+unstructured\.RemoveNestedField\(c\.Inputs\.Object, pathComponents\.\.\.\)\s+continue/,
        );
        assert.match(
            awaitGo,
            /lastLiveVal, found, err := unstructured\.NestedFieldCopy\(liveOldObj\.Object, pathComponents\.\.\.\)\s+if found && err == nil \{/,
        );
    });
});

describe("Pulumi (the toolchain's CLI): a leaf set with `config set --secret --path` marks its whole key secret", function () {
    this.timeout(300_000);
    it("a structured value is secure when it holds a secure leaf, and the program is told its key is secret, which the config reads to refuse plain service secrets", () => {
        const tools = path.join(__dirname, "..", "..", "tools");
        const sdk = (f: string) => goModuleFile("github.com/pulumi/pulumi/sdk/v3", requiredVersion(tools, "github.com/pulumi/pulumi/sdk/v3"), f);
        const pkg = (f: string) => goModuleFile("github.com/pulumi/pulumi/pkg/v3", requiredVersion(tools, "github.com/pulumi/pulumi/pkg/v3"), f);
        assert.match(
            sdk("go/common/resource/config/object.go"),
            /\/\/ Secure returns true if the receiver is a secure string or a composite value that contains a secure string\.\s+func \(c object\) Secure\(\) bool/,
        );
        assert.match(
            sdk("go/common/resource/config/map.go"),
            /func \(m Map\) SecureKeys\(\) \[\]Key \{\s+var keys \[\]Key\s+for k, v := range m \{\s+if v\.Secure\(\) \{/,
        );
        assert.match(pkg("resource/deploy/program_source.go"), /configSecretKeys := src\.runinfo\.Target\.Config\.SecureKeys\(\)/);
    });
});
