// Validates every GRPCRoute of rendered manifests against the Gateway API v1 schema
// (@kubernetes-models/gateway-api). Usage: node validate-routes.mjs FILE...
// (run from .ci/.tools, where the packages are installed; .ci/run copies it there)
import fs from "node:fs";
import yaml from "js-yaml";
import { validate } from "@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1GRPCRoute";

let routes = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc || doc.kind !== "GRPCRoute") continue;
    routes++;
    if (doc.apiVersion !== "gateway.networking.k8s.io/v1" || !validate(doc)) {
      failed++;
      console.error(`${file}: GRPCRoute ${doc.metadata?.name}: ${JSON.stringify(validate.errors ?? doc.apiVersion)}`);
    }
  }
}
console.log(`${routes} GRPCRoute(s) checked against the Gateway API v1 schema, ${failed} invalid`);
process.exit(failed > 0 || routes === 0 ? 1 : 0);
