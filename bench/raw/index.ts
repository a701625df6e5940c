// The baseline project of `npm run bench:engine`: the objects a program run declared (a JSON
// file bench/engine.ts writes from the mocks), declared raw.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { declareRaw } from "../workload";

declareRaw(JSON.parse(fs.readFileSync(new pulumi.Config().require("objectsFile"), "utf8")));
