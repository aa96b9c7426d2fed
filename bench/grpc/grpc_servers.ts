/**
 * The two ways to serve gRPC proper from Deno, side by side with the same handlers, to choose one
 * by measurement: Connect's Node adapter (`@connectrpc/connect-node`) on `node:http2`, and
 * `@grpc/grpc-js`'s own `Server`. Each serves `grpc.health.v1.Health` (`Check`: unary; `Watch`: a
 * stream that stays open). Run as `deno run -A --config bench/grpc/deno.json
 * bench/grpc/grpc_servers.ts connect|grpc-js PORT`; it prints `ready` and serves until killed.
 * `bench/grpc/grpc_compare.ts` drives it. (grpc-js lives in this folder's own config and lockfile,
 * so that the server's users never download it.)
 *
 * @module
 */
import { createServer } from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../src/transport/grpc/gen/grpc/health/v1/health_pb.ts";

const [kind, portText] = Deno.args;
const port = Number(portText);

/** A `Watch` that sends SERVING and then waits for the client to go. */
const forever = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));

if (kind === "connect") {
  const handler = connectNodeAdapter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    routes: (router) =>
      router.service(Health, {
        check: () => ({ status: Status.SERVING }),
        async *watch(_request, context) {
          yield { status: Status.SERVING };
          await forever(context.signal);
        },
      }),
  });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
} else if (kind === "grpc-js") {
  const proto = new URL("../../proto/", import.meta.url).pathname;
  const definition = protoLoader.loadSync("grpc/health/v1/health.proto", { includeDirs: [proto] });
  // deno-lint-ignore no-explicit-any
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const server = new grpc.Server();
  server.addService(loaded.grpc.health.v1.Health.service, {
    check: (_call: unknown, callback: (e: null, r: unknown) => void) =>
      callback(null, { status: "SERVING" }),
    watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ status: "SERVING" });
      call.on("cancelled", () => call.end());
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (error) => error ? reject(error) : resolve(),
    )
  );
} else {
  console.error(
    "usage: deno run -A --config bench/grpc/deno.json bench/grpc/grpc_servers.ts connect|grpc-js PORT",
  );
  Deno.exit(2);
}
console.log("ready");
