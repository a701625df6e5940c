import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RECORDED_STACKS, recordStack } from "../harness/record";

// What each stack declares is what the engine compares with the state at the next `up`: any
// change to it (a name, an input, an option) changes a running environment. The committed
// record makes every such change visible in review; `npm run record` updates it on purpose.
for (const stack of RECORDED_STACKS) {
    describe(`stack ${stack} declares exactly its recorded resources`, () => {
        it("same URNs, inputs and options as test/fixtures/resources", async () => {
            const file = path.join(__dirname, "fixtures", "resources", `${stack}.json`);
            const expected = JSON.parse(fs.readFileSync(file, "utf8"));
            const actual = JSON.parse(JSON.stringify(await recordStack(stack)));
            assert.deepStrictEqual(actual, expected, `the resources of ${stack} changed: if on purpose, run \`npm run record\` and commit the diff`);
        });
    });
}
