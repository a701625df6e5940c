// Which jobs each pipeline runs, by gitlab-ci-local (no Docker: --list-json and --preview only).
// gitlab-ci-local applies workflow:rules only to variables, not to whether a pipeline starts, so
// each listed config gets one extra job, `workflow-probe`, whose rules are the file's workflow
// rules: it is listed exactly when GitLab would start the pipeline.
import { FIRST_BUILD_ANNOTATION } from "../components/workload/microservice";
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { GITLAB_TIERS as TIERS } from "../lib/names";
import { PIPELINE_STACKS, REPORT_DIR } from "../scripts/previewJob";
import { GCL, gitRepo, preview, run, runJob, SERVICE_CI, TEMPLATE } from "./helpers/pipeline";

const ROOT = path.resolve(__dirname, "..");
const PROBE = "workflow-probe";

/** The same config plus a job that runs exactly when the workflow rules start a pipeline. */
function withProbe(config: string, workflowRules: unknown): string {
    const doc = YAML.parse(config);
    doc[PROBE] = { stage: ".pre", script: [":"], rules: workflowRules };
    return YAML.stringify(doc);
}

type Event = { name: string; vars: string[]; unset?: string[] };
const PREDEFINED = "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_COMMIT_REF_NAME,CI_OPEN_MERGE_REQUESTS,CI_MERGE_REQUEST_IID";
const mergeRequest: Event = {
    name: "merge request",
    vars: ["CI_PIPELINE_SOURCE=merge_request_event", "CI_MERGE_REQUEST_IID=7", "CI_COMMIT_REF_NAME=feature"],
    unset: ["CI_COMMIT_BRANCH"],
};
const push = (branch: string, openMergeRequest = false): Event => ({
    name: `push to ${branch}${openMergeRequest ? " (open MR)" : ""}`,
    vars: [
        "CI_PIPELINE_SOURCE=push",
        `CI_COMMIT_BRANCH=${branch}`,
        `CI_COMMIT_REF_NAME=${branch}`,
        ...(openMergeRequest ? ["CI_OPEN_MERGE_REQUESTS=the-project/repo!7"] : []),
    ],
});

interface Listed {
    name: string;
    when: string;
    stage: string;
    needs?: { job: string }[];
}

/** The stdout of `--list-json` for an event. */
async function listJobs(cwd: string, file: string, event: Event): Promise<string> {
    const args = [
        GCL,
        "--file",
        file,
        "--list-json",
        "--no-json-schema-validation",
        "--ignore-predefined-vars",
        PREDEFINED,
        ...event.vars.flatMap((v) => ["--variable", v]),
        ...(event.unset ?? []).flatMap((v) => ["--unset-variable", v]),
    ];
    const { stdout } = await run(process.execPath, args, { cwd, maxBuffer: 1 << 24 });
    return stdout;
}
const listed = (stdout: string) => (JSON.parse(stdout) as Listed[]).filter((j) => j.when !== "never");

/** Runs the calls two at a time (the machine has two cores). */
async function inPairs<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const i = next++;
            results[i] = await tasks[i]();
        }
    };
    await Promise.all([worker(), worker()]);
    return results;
}

const EVENTS: Event[] = [mergeRequest, push("dev"), push("stg"), push("prod"), push("master")];
const SERVICE_EVENTS: Event[] = [...EVENTS, push("feature", true), push("dev", true)];

const infraYaml = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
const templateYaml = fs.readFileSync(TEMPLATE, "utf8");

/** What gitlab-ci-local printed: the expanded configs and the jobs listed for each event. */
interface Answers {
    infraPreview: string;
    servicePreview: string;
    infra: [string, string][];
    service: [string, string][];
}

/** Asks gitlab-ci-local, in two throwaway repositories; the events two at a time. */
async function askGitlabCiLocal(): Promise<Answers> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hp-pipeline-"));
    try {
        const infraDir = path.join(tmp, "hobby-platform");
        const serviceDir = path.join(tmp, "example-microservice");
        await gitRepo(infraDir, {
            ".gitlab-ci.yml": infraYaml,
            "probe.yml": withProbe(infraYaml, YAML.parse(infraYaml).workflow.rules),
        });
        await gitRepo(serviceDir, {
            ".gitlab-ci.yml": SERVICE_CI,
            "templates/microservice.gitlab-ci.yml": templateYaml,
            "probe.yml": withProbe(SERVICE_CI, YAML.parse(templateYaml).workflow.rules),
        });
        const answers: Answers = { infraPreview: "", servicePreview: "", infra: [], service: [] };
        const tasks: (() => Promise<void>)[] = [
            async () => {
                answers.infraPreview = await preview(infraDir);
            },
            async () => {
                answers.servicePreview = await preview(serviceDir);
            },
            ...EVENTS.map((e) => async () => {
                answers.infra.push([e.name, await listJobs(infraDir, "probe.yml", e)]);
            }),
            ...SERVICE_EVENTS.map((e) => async () => {
                answers.service.push([e.name, await listJobs(serviceDir, "probe.yml", e)]);
            }),
        ];
        await inPairs(tasks);
        return answers;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/**
 * The answers depend only on the two CI files, this test file (the probes, events and calls) and
 * gitlab-ci-local itself: they are kept under node_modules/.cache by a hash of all of these, and
 * a rerun with none of them changed reuses them instead of making the 14 calls (8 s of CPU).
 * `npm ci` (as in CI) or removing the folder makes the calls again.
 */
async function answers(): Promise<Answers> {
    const key = createHash("sha256");
    for (const input of [fs.readFileSync(GCL), fs.readFileSync(__filename), infraYaml, templateYaml, process.version]) key.update(input).update("\0");
    const dir = path.join(ROOT, "node_modules", ".cache", "hobby-platform-pipeline");
    const file = path.join(dir, `${key.digest("hex")}.json`);
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as Answers;
    const fresh = await askGitlabCiLocal();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(fresh));
    fs.renameSync(`${file}.${process.pid}.tmp`, file);
    return fresh;
}

describe("pipelines under gitlab-ci-local (.gitlab-ci.yml, templates/microservice.gitlab-ci.yml)", function () {
    // Generous: the calls take about 1 s of CPU each, longer on a busy machine.
    this.timeout(180_000);
    let infra = new Map<string, Listed[]>();
    let service = new Map<string, Listed[]>();
    let infraPreview: Record<string, any>;
    let servicePreview: Record<string, any>;

    before(async () => {
        const a = await answers();
        infraPreview = YAML.parse(a.infraPreview);
        servicePreview = YAML.parse(a.servicePreview);
        infra = new Map(a.infra.map(([event, stdout]) => [event, listed(stdout)]));
        service = new Map(a.service.map(([event, stdout]) => [event, listed(stdout)]));
    });

    const names = (jobs: Listed[] | undefined) =>
        (jobs ?? [])
            .map((j) => j.name)
            .filter((n) => n !== PROBE)
            .sort();
    const starts = (jobs: Listed[] | undefined) => (jobs ?? []).some((j) => j.name === PROBE);
    const job = (jobs: Listed[] | undefined, name: string) => (jobs ?? []).find((j) => j.name === name)!;

    describe("hobby-platform's .gitlab-ci.yml", () => {
        it("merge request: npm test, then a preview of each of dev, stg and prod", () => {
            const jobs = infra.get(mergeRequest.name);
            assert.ok(starts(jobs));
            assert.deepStrictEqual(names(jobs), ["preview: [dev]", "preview: [prod]", "preview: [stg]", "test"]);
            assert.deepStrictEqual(
                job(jobs, "preview: [dev]").needs?.map((n) => n.job),
                ["test"],
            );
        });

        for (const stack of ["dev", "stg"]) {
            it(`push to ${stack}: npm test, then pulumi up of ${stack}, automatically`, () => {
                const jobs = infra.get(push(stack).name);
                assert.ok(starts(jobs));
                assert.deepStrictEqual(names(jobs), ["test", `up:${stack}`]);
                assert.strictEqual(job(jobs, `up:${stack}`).when, "on_success");
            });
        }

        it("push to prod: npm test, then pulumi up of prod behind a manual action", () => {
            const jobs = infra.get(push("prod").name);
            assert.deepStrictEqual(names(jobs), ["test", "up:prod"]);
            assert.strictEqual(job(jobs, "up:prod").when, "manual");
        });

        it("push to master: no pipeline at all", () => {
            const jobs = infra.get(push("master").name);
            assert.ok(!starts(jobs));
            assert.deepStrictEqual(names(jobs), []);
        });

        it("expands (--preview, schema-validated) and previews exactly the pipeline stacks", () => {
            const matrix = infraPreview["preview"].parallel.matrix;
            assert.deepStrictEqual(matrix, [{ STACK: [...PIPELINE_STACKS] }]);
            assert.strictEqual(infraPreview["preview"].artifacts.reports.terraform, `${REPORT_DIR}/$STACK.json`);
            assert.deepStrictEqual(infraPreview["preview"].environment, { name: "preview/$STACK", action: "prepare" });
            assert.ok(infraPreview["preview"].script.includes('npm run ci:preview -- "$STACK"'));
        });

        it("runs each stack's up alone (resource_group) in its environment and tier, pinned CLI image", () => {
            for (const stack of PIPELINE_STACKS) {
                const up = infraPreview[`up:${stack}`];
                assert.strictEqual(up.resource_group, stack);
                assert.deepStrictEqual(up.environment, { name: stack, deployment_tier: TIERS[stack] });
                assert.strictEqual(up.variables.STACK, stack);
                assert.ok(up.script.some((line: string) => line.startsWith('pulumi up --yes --stack "$STACK"')));
            }
            // CI runs the CLI version developers build with `npm run toolchain`.
            const toolchain = fs.readFileSync(path.join(ROOT, "tools", "go.mod"), "utf8").match(/github\.com\/pulumi\/pulumi\/pkg\/v3 v(\S+)/);
            assert.ok(toolchain, "tools/go.mod pins github.com/pulumi/pulumi/pkg/v3");
            assert.strictEqual(infraPreview.variables.PULUMI_VERSION, toolchain[1]);
            assert.strictEqual(infraPreview.test.image.name, "pulumi/pulumi-nodejs:$PULUMI_VERSION");
        });

        it("uses rules, never only/except", () => {
            assert.ok(!/^\s*(only|except):/m.test(infraYaml));
        });
    });

    describe("templates/microservice.gitlab-ci.yml included by a service repo", () => {
        it("merge request: none of the template's jobs", () => {
            const jobs = service.get(mergeRequest.name);
            assert.ok(starts(jobs), "the service's own MR jobs still get a pipeline");
            assert.deepStrictEqual(names(jobs), []);
        });

        for (const env of ["dev", "stg", "prod"]) {
            it(`push to ${env}: build and push the image, then roll it out, automatically`, () => {
                const jobs = service.get(push(env).name);
                assert.ok(starts(jobs));
                assert.deepStrictEqual(names(jobs), [`build:${env}`, `deploy:${env}`]);
                assert.strictEqual(job(jobs, `deploy:${env}`).stage, "deploy");
                assert.strictEqual(job(jobs, `build:${env}`).stage, "build");
                assert.strictEqual(job(jobs, `deploy:${env}`).when, "on_success");
            });
        }

        it("push to master: no pipeline at all", () => {
            assert.ok(!starts(service.get(push("master").name)));
            assert.deepStrictEqual(names(service.get(push("master").name)), []);
        });

        it("no duplicate pipelines: a feature branch with an open MR runs only its MR pipeline", () => {
            assert.ok(!starts(service.get(push("feature", true).name)));
        });

        it("an environment branch deploys on push even while an MR from it is open", () => {
            assert.ok(starts(service.get(push("dev", true).name)));
            assert.deepStrictEqual(names(service.get(push("dev", true).name)), ["build:dev", "deploy:dev"]);
        });

        it("expands (--preview, schema-validated): tags <env>-$CI_PIPELINE_ID and <env>-latest, token as a BuildKit secret", () => {
            for (const env of ["dev", "stg", "prod"]) {
                const build = servicePreview[`build:${env}`];
                const script = build.script.join("\n");
                assert.strictEqual(build.variables.DEPLOY_ENV, env);
                assert.deepStrictEqual(build.environment, { name: env, action: "prepare" }, "reads the variables scoped to the environment");
                assert.ok(script.includes("name=$CI_REGISTRY_IMAGE:$DEPLOY_ENV-$CI_PIPELINE_ID,$CI_REGISTRY_IMAGE:$DEPLOY_ENV-latest"));
                assert.ok(script.includes("--secret id=GITLAB_TOKEN,env=GITLAB_TOKEN"));
                assert.ok(!/build-arg:GITLAB_TOKEN/.test(script), "the token is never a build argument");
            }
        });

        it("deploys with kubectl set image deployment/$SERVICE $SERVICE=<env>-$CI_PIPELINE_ID, TLS verified, rollout bounded", () => {
            for (const env of ["dev", "stg", "prod"]) {
                const deploy = servicePreview[`deploy:${env}`];
                const ENV = env.toUpperCase();
                assert.deepStrictEqual(
                    [deploy.variables.K8S_SERVER, deploy.variables.K8S_TOKEN, deploy.variables.K8S_CA],
                    [`$K8S_${ENV}_SERVER`, `$K8S_${ENV}_TOKEN`, `$K8S_${ENV}_CA`],
                );
                // The same environment and tier the stack creates in the service project.
                assert.deepStrictEqual(deploy.environment, { name: env, deployment_tier: TIERS[env] });
                assert.strictEqual(deploy.resource_group, `deploy-${env}`);
                const script: string[] = deploy.script;
                assert.strictEqual(deploy.variables.K8S_CONTEXT, `$K8S_${ENV}_CONTEXT`);
                assert.ok(script.includes('kubectl set image "deployment/$SERVICE" "$SERVICE=$CI_REGISTRY_IMAGE:$DEPLOY_ENV-$CI_PIPELINE_ID"'));
                assert.ok(script.includes('kubectl rollout status "deployment/$SERVICE" --timeout="$ROLLOUT_TIMEOUT"'));
                // After the rollout succeeded: the Deployment leaves its first-build state, and `pulumi up` awaits it again.
                assert.strictEqual(script[script.length - 1], `kubectl annotate "deployment/$SERVICE" ${FIRST_BUILD_ANNOTATION}-`);
            }
            assert.strictEqual(servicePreview.variables.SERVICE, "$CI_PROJECT_NAME");
            assert.ok(!templateYaml.includes("insecure-skip-tls-verify=true") && !/^\s*-.*--insecure/m.test(templateYaml));
            assert.ok(!/^\s*(only|except):/m.test(templateYaml));
        });

        for (const [mode, projectVariables] of [
            [
                "token path",
                {
                    K8S_DEV_SERVER: "https://203.0.113.10:6443",
                    K8S_DEV_CA: "LS0tLS1CRUdJTi0t",
                    K8S_DEV_TOKEN: "deployer-token-value",
                    K8S_DEV_NAMESPACE: "the-project",
                },
            ],
            ["agent path", { K8S_DEV_CONTEXT: "the-project/cluster-agents:hobby-dev", K8S_DEV_NAMESPACE: "the-project" }],
        ] as const) {
            it(`deploy:dev on the ${mode}: the expanded job's script, run with the variables the stack writes, rolls out as the deployer`, async () => {
                const calls = await runDeploy(servicePreview, "deploy:dev", projectVariables);
                const rollout = [
                    "set image deployment/example-microservice example-microservice=registry.example.com/the-project/example-microservice:dev-1234",
                    "rollout status deployment/example-microservice --timeout=5m",
                    `annotate deployment/example-microservice ${FIRST_BUILD_ANNOTATION}-`,
                ];
                if (mode === "agent path") {
                    assert.deepStrictEqual(calls, [
                        ...[
                            "config use-context the-project/cluster-agents:hobby-dev",
                            "config set-context --current --namespace=the-project",
                            ...rollout,
                        ].map((c) => `${GITLAB_KUBECONFIG} | ${c}`),
                    ]);
                } else {
                    const kubeconfig = calls[0].split(" | ")[0];
                    assert.notStrictEqual(kubeconfig, GITLAB_KUBECONFIG, "a kubeconfig of its own, in a temporary directory");
                    assert.deepStrictEqual(calls, [
                        ...[
                            "config set-cluster dev --server=https://203.0.113.10:6443",
                            "config set clusters.dev.certificate-authority-data LS0tLS1CRUdJTi0t",
                            "config set-credentials example-microservice-deployer --token=deployer-token-value",
                            "config set-context dev --cluster=dev --user=example-microservice-deployer --namespace=the-project",
                            "config use-context dev",
                            ...rollout,
                        ].map((c) => `${kubeconfig} | ${c}`),
                    ]);
                }
            });
        }
    });
});

/** The kubeconfig GitLab hands a job that an agent serves (the agent path must use it, the token path must not). */
const GITLAB_KUBECONFIG = "/builds/the-project/example-microservice.tmp/KUBECONFIG";

/** runJob with a stub kubectl that logs its KUBECONFIG and arguments; returns the kubectl calls. */
async function runDeploy(config: Record<string, any>, jobName: string, projectVariables: Record<string, string>): Promise<string[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hp-deploy-"));
    try {
        const log = path.join(dir, "kubectl.log");
        fs.writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh\necho "$KUBECONFIG | $*" >> "${log}"\n`, { mode: 0o755 });
        const predefined: Record<string, string> = {
            CI_PROJECT_NAME: "example-microservice",
            CI_REGISTRY_IMAGE: "registry.example.com/the-project/example-microservice",
            CI_PIPELINE_ID: "1234",
            ...(projectVariables.K8S_DEV_CONTEXT ? { KUBECONFIG: GITLAB_KUBECONFIG } : {}),
            ...projectVariables,
        };
        await runJob(config, jobName, predefined, `${dir}:/usr/bin:/bin`);
        return fs.readFileSync(log, "utf8").trim().split("\n");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
