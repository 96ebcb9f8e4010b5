// Starts the fauxqs SQS emulator for Conveyor's tests and benchmarks, on 127.0.0.1 only.
// fauxqs 1.9.2 listens on 0.0.0.0 whatever it is told, so Node's listen is wrapped to force the
// loopback host before the package is loaded. Prints "listening on 127.0.0.1:PORT" once ready,
// then serves until SIGTERM/SIGINT.
//
//   node launch.mjs [--port N] [--region R] [--queue NAME[:VISIBILITY_SECONDS]]...
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "object" && args[0] !== null) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number") {
    args.splice(1, typeof args[1] === "string" ? 1 : 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};

const options = { port: 0, region: "us-east-1", queues: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const value = argv[i + 1];
  if (value === undefined) fail(`${argv[i]} needs a value`);
  switch (argv[i]) {
    case "--port": options.port = Number.parseInt(value, 10); break;
    case "--region": options.region = value; break;
    case "--queue": options.queues.push(value); break;
    default: fail(`unknown option ${argv[i]}`);
  }
  i++;
}
if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) fail("--port: not a port");

function fail(message) {
  process.stderr.write(`fauxqs launcher: ${message}\n`);
  process.exit(2);
}

const { startFauxqs } = await import("fauxqs");
const server = await startFauxqs({ port: options.port, defaultRegion: options.region, logger: false });
for (const spec of options.queues) {
  const [name, visibility] = spec.split(":");
  const attributes = visibility ? { VisibilityTimeout: visibility } : undefined;
  server.createQueue(name, { attributes });
}
process.stdout.write(`listening on 127.0.0.1:${server.port}\n`);

const stop = () => server.stop().then(() => process.exit(0), () => process.exit(1));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
