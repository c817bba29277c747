// A fast APNs protocol peer for the push benchmark: HTTP/2 over TLS (ALPN h2) on 127.0.0.1,
// on Node's built-in http2 module (nghttp2, in C), so that the peer costs a small share of the
// machine and the benchmark measures passmint's side.
//
//   node bench/apns_peer.mjs CERT KEY EXPECT
//
// Answers POST /3/device/<hex token> carrying apns-topic and the body {} with 200 and an
// apns-id, like APNs; no topic is 400 MissingTopic, another path 404 BadPath, another body
// 400 PayloadEmpty or BadPayload... only the first two matter to the benchmark, which counts
// 200s. Prints "ready <port>" when listening and "done <count> <first> <last>" (seconds on
// a monotonic clock) once EXPECT pushes were accepted. bench/push_fanout.py starts it.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const [cert, key, expectArg] = process.argv.slice(2);
const expect = Number(expectArg);
let count = 0;
let first = 0;
let last = 0;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const devicePath = /^\/3\/device\/[0-9A-Fa-f]+$/;

function answer(stream, status, reason) {
  const body = JSON.stringify({ reason });
  stream.respond({ ":status": status, "apns-id": randomUUID(), "content-type": "application/json" });
  stream.end(body);
}

const server = http2.createSecureServer({
  cert: readFileSync(cert),
  key: readFileSync(key),
  allowHTTP1: false,
  settings: { maxConcurrentStreams: 1000 },
});
server.on("stream", (stream, headers) => {
  const chunks = [];
  stream.on("data", (chunk) => chunks.push(chunk));
  stream.on("end", () => {
    const body = Buffer.concat(chunks).toString();
    if (headers[":method"] !== "POST") return answer(stream, 405, "MethodNotAllowed");
    if (!devicePath.test(headers[":path"])) return answer(stream, 404, "BadPath");
    if (!headers["apns-topic"]) return answer(stream, 400, "MissingTopic");
    if (body === "") return answer(stream, 400, "PayloadEmpty");
    if (body !== "{}") return answer(stream, 400, "BadPayload");
    stream.respond({ ":status": 200, "apns-id": randomUUID() }, { endStream: true });
    const t = now();
    if (count === 0) first = t;
    count += 1;
    last = t;
    if (count === expect) process.stdout.write(`done ${count} ${first} ${last}\n`);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
