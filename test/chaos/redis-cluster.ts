/**
 * A Redis Cluster of three primaries on loopback for the chaos suite: three `redis-server
 * --cluster-enabled yes --appendonly yes` (each in its own temp dir, on a free 127.0.0.1 port),
 * joined by `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`.
 *
 * Decides: the node flags and the `redis-cluster://` URL mxq is given; ready once every node
 * reports cluster_state:ok.
 * Never: binds beyond 127.0.0.1; leaves processes or dirs behind after stop().
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

export interface RedisClusterSet {
  nodes: RedisHandle[];
  url: string;
  /** A plain connection to one node (for CLUSTER KEYSLOT / CLUSTER INFO); the caller disconnects. */
  node(i: number): Redis;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

export async function startRedisCluster(): Promise<RedisClusterSet> {
  const nodes: RedisHandle[] = [];
  const stop = async () => {
    for (const n of nodes) await n.stop();
  };
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const node = (i: number) => {
      const c = new Redis({
        host: '127.0.0.1',
        port: nodes[i]?.port ?? 0,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      c.on('error', () => {});
      return c;
    };
    for (let i = 0; i < nodes.length; i++) {
      const c = node(i);
      try {
        await until(
          `cluster_state:ok on node ${i}`,
          async () => ((await c.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok') || undefined,
          30_000,
        );
      } finally {
        c.disconnect();
      }
    }
    return { nodes, url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, node, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
