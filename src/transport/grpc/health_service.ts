import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "./gen/grpc/health/v1/health_pb.ts";

/** Whether the server serves, and a signal that fires when it starts shutting down. */
export interface Serving {
  readonly draining: boolean;
  readonly shuttingDown: AbortSignal;
}

/**
 * `grpc.health.v1.Health` for the gRPC port: `Check` answers SERVING for the server (`""`) and for
 * each service it names, NOT_SERVING once a shutdown has begun, NOT_FOUND for other names; `Watch`
 * sends the status now and again when the shutdown begins.
 */
export function healthRoutes(services: readonly string[], serving: Serving) {
  const known = new Set(["", ...services]);
  const status = () => serving.draining ? Status.NOT_SERVING : Status.SERVING;
  return (router: ConnectRouter) =>
    router.service(Health, {
      check: (request) => {
        if (!known.has(request.service)) {
          throw new ConnectError(`no service '${request.service}' here`, Code.NotFound);
        }
        return { status: status() };
      },
      async *watch(request, context) {
        if (!known.has(request.service)) {
          yield { status: Status.SERVICE_UNKNOWN };
          return;
        }
        yield { status: status() };
        if (serving.draining) return;
        await new Promise<void>((resolve) => {
          serving.shuttingDown.addEventListener("abort", () => resolve(), { once: true });
          context.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        if (!context.signal.aborted) yield { status: Status.NOT_SERVING };
      },
    });
}
