// Writes test/fixtures/resources/<stack>.json: what each stack declares under mocks. Run it
// when a change to the declared resources is intended, and commit the diff with the change.
import * as fs from "fs";
import * as path from "path";
import { RECORDED_STACKS, recordStack } from "../harness/record";

async function main(): Promise<void> {
    for (const stack of RECORDED_STACKS) {
        const file = path.join(__dirname, "..", "test", "fixtures", "resources", `${stack}.json`);
        fs.writeFileSync(file, JSON.stringify(await recordStack(stack), null, 1) + "\n");
        console.log(`wrote ${path.relative(process.cwd(), file)}`);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
