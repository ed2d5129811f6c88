import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, toolPath } from '../../observability/support/tools';
import type { KubeObject } from './kube-schemas';

export const CHART = join(REPO, 'k8s/ledger');
/** The cluster the chart is rendered for (k3s current minor); helm would assume 1.20 otherwise. */
export const KUBE_VERSION = '1.33.0';

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real helm (scripts/tools.sh builds it before Jest starts). */
export function helm(args: string[]): HelmResult {
  const result = spawnSync(toolPath('helm'), args, {
    encoding: 'utf8',
    // No repositories, plugins or caches of the developer's: helm reads only the chart here.
    env: {
      ...process.env,
      HELM_CONFIG_HOME: '/nonexistent/helm-config',
      HELM_CACHE_HOME: '/nonexistent/helm-cache',
      HELM_DATA_HOME: '/nonexistent/helm-data',
    },
    timeout: 60_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `helm template` of the chart with these values files (and the operator CRDs announced). */
export function render(valuesFiles: string[], extra: string[] = []): KubeObject[] {
  const args = [
    'template',
    'ledger',
    CHART,
    '--namespace',
    'ledger',
    '--kube-version',
    KUBE_VERSION,
    '--api-versions',
    'monitoring.coreos.com/v1',
    ...valuesFiles.flatMap((file) => ['-f', file]),
    ...extra,
  ];
  const result = helm(args);
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return parseObjects(result.stdout);
}

/** Every non-empty document of a YAML stream (helm output, a manifest file). */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

export function readObjects(file: string): KubeObject[] {
  return parseObjects(readFileSync(file, 'utf8'));
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `${kind}/${name} not rendered (have: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`,
    );
  return found;
}
