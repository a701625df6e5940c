import * as pulumi from "@pulumi/pulumi";
import { declareRaw } from "../workload";

declareRaw(new pulumi.Config().requireNumber("services"));
