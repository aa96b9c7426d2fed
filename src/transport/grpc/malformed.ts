import { type DescMessage, fromBinary } from "@bufbuild/protobuf";

function mediaType(contentType: string): string {
  return contentType.split(";")[0].trim().toLowerCase();
}

/** Whether a request's body is binary protobuf (plain or enveloped), which Connect parses. */
export function isBinaryProto(contentType: string): boolean {
  const type = mediaType(contentType);
  return type === "application/proto" || type === "application/connect+proto" ||
    /^application\/grpc(-web)?(\+proto)?$/.test(type);
}

/**
 * Why a binary request body does not parse as `schema` (Connect's `application/proto`, and the
 * enveloped `application/connect+proto`, gRPC and gRPC-Web), or `undefined` when it does or is
 * not binary. Connect itself reports a body it cannot parse as `internal` (500); a client's garbage is
 * the client's error, so the routes check first and answer `invalid_argument`.
 */
export function malformedBinary(
  contentType: string,
  body: Uint8Array,
  schema: DescMessage,
): string | undefined {
  const type = mediaType(contentType);
  const parse = (bytes: Uint8Array) => {
    try {
      fromBinary(schema, bytes);
      return undefined;
    } catch (error) {
      return `the request is not a valid ${schema.typeName}: ${(error as Error).message}`;
    }
  };
  if (!isBinaryProto(contentType)) return undefined;
  if (type === "application/proto") return parse(body);
  // Envelopes: a flags byte, a 4-byte big-endian length, the message.
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) return "the request ends inside an envelope's header";
    const flags = body[at];
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    if (length > body.length - at - 5) return "an envelope's length runs past the request";
    const payload = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (flags !== 0) continue; // compressed or end-of-stream: Connect judges those itself
    const problem = parse(payload);
    if (problem) return problem;
  }
  return undefined;
}

/** The refusal of a malformed request, in the protocol the request spoke. */
export function malformedResponse(contentType: string, message: string): Response {
  const type = mediaType(contentType);
  if (type.startsWith("application/grpc-web")) {
    // A trailers-only answer: the status travels in the headers.
    return new Response(null, {
      status: 200,
      headers: {
        "content-type": type,
        "grpc-status": "3",
        "grpc-message": encodeURIComponent(message),
      },
    });
  }
  const error = { code: "invalid_argument", message };
  if (type === "application/connect+proto") {
    const json = new TextEncoder().encode(JSON.stringify({ error }));
    const frame = new Uint8Array(5 + json.length);
    frame[0] = 0b10; // end of stream
    new DataView(frame.buffer).setUint32(1, json.length);
    frame.set(json, 5);
    return new Response(frame, { status: 200, headers: { "content-type": type } });
  }
  return Response.json(error, { status: 400 });
}
