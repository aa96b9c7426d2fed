import { createRegistry, type DescFile, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "./gen/grpc/reflection/v1/reflection_pb.ts";

type Answer = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/** A file and every file it imports, each once, dependencies first. */
function withDependencies(file: DescFile, seen = new Set<string>()): DescFile[] {
  if (seen.has(file.name)) return [];
  seen.add(file.name);
  return [...file.dependencies.flatMap((dep) => withDependencies(dep, seen)), file];
}

/**
 * `grpc.reflection.v1.ServerReflection` for the gRPC port, so that grpcurl-style tools can list
 * the services and fetch their descriptors (the files compiled into this server, with their
 * imports). Extensions are not used by these services: asking for them gets NOT_FOUND.
 */
export function reflectionRoutes(files: readonly DescFile[]) {
  const registry = createRegistry(...files);
  const byName = new Map(files.flatMap((file) => withDependencies(file)).map((f) => [f.name, f]));
  const services = files.flatMap((file) => file.services.map((service) => service.typeName));
  const descriptors = (file: DescFile): Answer => ({
    case: "fileDescriptorResponse",
    value: {
      fileDescriptorProto: withDependencies(file).map((f) =>
        toBinary(FileDescriptorProtoSchema, f.proto)
      ),
    },
  });
  const notFound = (what: string): Answer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} is not known here` },
  });
  /** The file that defines a symbol: a message, enum or service, or a service's method. */
  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const direct = registry.get(symbol);
    if (direct) return direct.file;
    const owner = registry.getService(symbol.slice(0, symbol.lastIndexOf(".")));
    return owner?.file;
  };
  const answer = (request: ServerReflectionRequest): Answer => {
    const ask = request.messageRequest;
    switch (ask.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: services.map((name) => ({ name })) },
        };
      case "fileByFilename": {
        const file = byName.get(ask.value);
        return file ? descriptors(file) : notFound(`file '${ask.value}'`);
      }
      case "fileContainingSymbol": {
        const file = fileOfSymbol(ask.value);
        return file ? descriptors(file) : notFound(`symbol '${ask.value}'`);
      }
      case "fileContainingExtension":
        return notFound(`extension ${ask.value.extensionNumber} of '${ask.value.containingType}'`);
      case "allExtensionNumbersOfType":
        return notFound(`extensions of '${ask.value}'`);
      case undefined:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "an empty reflection request" },
        };
    }
  };
  return (router: ConnectRouter) =>
    router.service(ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          yield {
            validHost: request.host,
            originalRequest: request,
            messageResponse: answer(request),
          };
        }
      },
    });
}
