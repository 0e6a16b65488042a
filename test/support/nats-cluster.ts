// The clustered broker the tests run (simulator/net/nats-cluster.ts); tests that need it skip,
// saying why, when nats-server is not installed.

export { NATS_PATH, startNatsCluster, type NatsCluster, type NatsNode } from "../../simulator/net/nats-cluster.js";

export const NATS_MISSING_REASON =
  "nats-server is not installed (apt-get install -y nats-server); the clustered broker tests are skipped";
