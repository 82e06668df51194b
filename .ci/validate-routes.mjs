// Validates every GRPCRoute and HTTPRoute of rendered manifests against the Gateway API v1
// schema (@kubernetes-models/gateway-api). Usage: node validate-routes.mjs FILE...
// (run from .ci/.tools, where the packages are installed; .ci/run copies it there)
import fs from "node:fs";
import yaml from "js-yaml";
import { validate as grpcRoute } from "@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1GRPCRoute";
import { validate as httpRoute } from "@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1HTTPRoute";

const validators = { GRPCRoute: grpcRoute, HTTPRoute: httpRoute };
const counts = { GRPCRoute: 0, HTTPRoute: 0 };
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    const validate = doc && validators[doc.kind];
    if (!validate) continue;
    counts[doc.kind]++;
    if (doc.apiVersion !== "gateway.networking.k8s.io/v1" || !validate(doc)) {
      failed++;
      console.error(`${file}: ${doc.kind} ${doc.metadata?.name}: ${JSON.stringify(validate.errors ?? doc.apiVersion)}`);
    }
  }
}
console.log(`${counts.GRPCRoute} GRPCRoute(s) and ${counts.HTTPRoute} HTTPRoute(s) checked against the Gateway API v1 schema, ${failed} invalid`);
process.exit(failed > 0 || counts.GRPCRoute === 0 || counts.HTTPRoute === 0 ? 1 : 0);
