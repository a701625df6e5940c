// Program evaluation under Pulumi's mocks: the whole program (config validation, components)
// for N services, against the same Kubernetes objects declared raw (the objects that very run
// declared, bench/workload.ts), in the same mocks.
// Run with `npm run bench`; numbers depend on the machine, the ratio is what to watch.
import { installMocks, runInStack } from "../harness/mocks";
import { declareRaw, programRun, RawObject } from "./workload";

const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,500").split(",").map(Number);
/** Runs of each size (single runs vary by about 20 % on a two-core machine): the table gives the median. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
interface Measure {
    ms: number;
    mib: number;
    resources: number;
}

async function measure(run: () => Promise<number>): Promise<Measure> {
    global.gc?.();
    const heap = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    const resources = await run();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const mib = (process.memoryUsage().heapUsed - heap) / 2 ** 20;
    return { ms, mib, resources };
}

/** The run of median time. */
function median(runs: Measure[]): Measure {
    return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
}

async function main(): Promise<void> {
    if (!global.gc) console.warn("(run with --expose-gc for steadier memory figures: npm run bench does)");
    // Warm up module loading and the mocks once, so the first row is not all start-up.
    await programRun(1);

    const rows: string[][] = [];
    for (const n of SIZES) {
        // Program and raw runs alternate, so that a slower minute of the machine slows both.
        const programs: Measure[] = [];
        const raws: Measure[] = [];
        for (let round = 0; round < ROUNDS; round++) {
            let objects: RawObject[] = [];
            programs.push(
                await measure(async () => {
                    const run = await programRun(n);
                    objects = run.objects;
                    return run.resources;
                }),
            );
            raws.push(
                await measure(async () => {
                    const resources = await installMocks("local");
                    await runInStack(() => {
                        declareRaw(objects);
                        return {};
                    });
                    return resources.length;
                }),
            );
        }
        const program = median(programs);
        const raw = median(raws);
        rows.push([
            String(n),
            String(program.resources),
            program.ms.toFixed(0),
            (program.ms / n).toFixed(2),
            ((program.mib * 1024) / n).toFixed(0),
            String(raw.resources),
            raw.ms.toFixed(0),
            (raw.ms / n).toFixed(2),
            ((raw.mib * 1024) / n).toFixed(0),
            (program.ms / raw.ms).toFixed(2),
        ]);
    }
    const header = ["services", "resources", "program ms", "ms/svc", "KiB/svc", "raw resources", "raw ms", "raw ms/svc", "raw KiB/svc", "time ratio"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => "| " + cells.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
    console.log(line(header));
    console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
    for (const r of rows) console.log(line(r));
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
