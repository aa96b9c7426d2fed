// The load generator for bench/grpc/grpc_compare.ts, under Node with grpc-js (tests/grpc_clients):
//   node bench/grpc/grpc_load.mjs unary PORT SECONDS CONCURRENCY  -> {"calls": n, "seconds": s}
//   node bench/grpc/grpc_load.mjs streams PORT COUNT              -> opens COUNT Watch streams, prints
//                                                              "open" once each has its first
//                                                              answer, and holds them until killed
import { createRequire } from "node:module";
const require = createRequire(new URL("../../tests/grpc_clients/", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [mode, port, a, b] = process.argv.slice(2);
const proto = new URL("../../proto/", import.meta.url).pathname;
const loaded = grpc.loadPackageDefinition(
  protoLoader.loadSync("grpc/health/v1/health.proto", { includeDirs: [proto] }),
);
const client = new loaded.grpc.health.v1.Health(
  `127.0.0.1:${port}`,
  grpc.credentials.createInsecure(),
);

if (mode === "unary") {
  const seconds = Number(a);
  const end = Date.now() + seconds * 1000;
  let calls = 0;
  const worker = async () => {
    while (Date.now() < end) {
      await new Promise((resolve, reject) =>
        client.check({ service: "" }, (error) => error ? reject(error) : resolve())
      );
      calls++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: Number(b) }, worker));
  console.log(JSON.stringify({ calls, seconds: (Date.now() - started) / 1000 }));
  process.exit(0);
} else if (mode === "streams") {
  let open = 0;
  for (let i = 0; i < Number(a); i++) {
    const call = client.watch({ service: "" });
    call.once("data", () => {
      if (++open === Number(a)) console.log("open");
    });
    call.on("error", () => {});
  }
} else {
  console.error(
    "usage: node bench/grpc/grpc_load.mjs unary PORT SECONDS CONCURRENCY | streams PORT COUNT",
  );
  process.exit(2);
}
