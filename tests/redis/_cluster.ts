// A real Redis Cluster per test (3 masters, 3 replicas): see bench/redis_cluster.ts, which the
// benchmarks share.
export { startCluster, type TestCluster } from "../../bench/redis_cluster.ts";
