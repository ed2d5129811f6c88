/**
 * Offline validation of Kubernetes objects against the API's schemas: the npm `kubernetes-models`
 * packages (OpenAPI schemas of Kubernetes 1.3x compiled to validators, plus the Prometheus
 * operator's CRDs). Their validators check types, formats and required fields but, like the
 * OpenAPI schemas they come from, let unknown fields through; the API server would drop such a
 * field with only a warning. So every object is also checked for fields the schema never looked
 * at: the validator runs on a proxy that records each property it reads, and any key it never
 * read (a typo like `readinessProbes`, a field at the wrong level) is reported.
 *
 * The packages are ESM-only: they are loaded with import(), which Jest runs through Node's VM
 * modules (scripts/test.sh sets --experimental-vm-modules).
 */

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type ModelClass = { prototype: { validate(): void } };

/** Where each kind's model lives (module, export). */
const MODELS: Record<string, [string, string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1', 'ConfigMap'],
  'v1/Namespace': ['kubernetes-models/v1', 'Namespace'],
  'v1/Pod': ['kubernetes-models/v1', 'Pod'],
  'v1/Secret': ['kubernetes-models/v1', 'Secret'],
  'v1/Service': ['kubernetes-models/v1', 'Service'],
  'v1/ServiceAccount': ['kubernetes-models/v1', 'ServiceAccount'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1', 'Deployment'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1', 'StatefulSet'],
  'apps/v1/DaemonSet': ['kubernetes-models/apps/v1', 'DaemonSet'],
  'batch/v1/Job': ['kubernetes-models/batch/v1', 'Job'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1', 'PodDisruptionBudget'],
  'autoscaling/v2/HorizontalPodAutoscaler': ['kubernetes-models/autoscaling/v2', 'HorizontalPodAutoscaler'],
  'monitoring.coreos.com/v1/ServiceMonitor': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
    'ServiceMonitor',
  ],
  'monitoring.coreos.com/v1/PrometheusRule': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
    'PrometheusRule',
  ],
};

async function modelOf(object: KubeObject): Promise<ModelClass> {
  const key = `${object.apiVersion}/${object.kind}`;
  const where = MODELS[key];
  if (!where) throw new Error(`no schema known for ${key} (add it to MODELS)`);
  const module = (await import(where[0])) as Record<string, ModelClass>;
  const model = module[where[1]];
  if (!model) throw new Error(`${where[0]} has no ${where[1]}`);
  return model;
}

type Path = (string | number)[];

/** A read-recording view of `root`: every object's keys that were read, by object. */
function recorder(root: object): { proxy: object; read: WeakMap<object, Set<PropertyKey>> } {
  const read = new WeakMap<object, Set<PropertyKey>>();
  const proxies = new WeakMap<object, object>();
  const mark = (target: object, key: PropertyKey): void => {
    let keys = read.get(target);
    if (!keys) read.set(target, (keys = new Set()));
    keys.add(key);
  };
  const wrap = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    let proxy = proxies.get(value);
    if (!proxy) {
      proxy = new Proxy(value, {
        get(target, key, receiver) {
          mark(target, key);
          return wrap(Reflect.get(target, key, receiver));
        },
        has(target, key) {
          mark(target, key);
          return Reflect.has(target, key);
        },
        // A validator that iterates an object's keys (a map such as labels) reads them all.
        ownKeys(target) {
          const keys = Reflect.ownKeys(target);
          for (const key of keys) mark(target, key);
          return keys;
        },
      });
      proxies.set(value, proxy);
    }
    return proxy;
  };
  return { proxy: wrap(root) as object, read };
}

function unreadKeys(value: unknown, read: WeakMap<object, Set<PropertyKey>>, path: Path, out: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unreadKeys(item, read, [...path, i], out));
    return;
  }
  const seen = read.get(value);
  for (const [key, child] of Object.entries(value)) {
    if (!seen?.has(key)) out.push(formatPath([...path, key]));
    else unreadKeys(child, read, [...path, key], out);
  }
}

function formatPath(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

export interface SchemaProblems {
  /** type, format and required-field errors of the API schema */
  errors: string[];
  /** fields the schema does not define */
  unknownFields: string[];
}

/** Validates one object; empty lists when it is a valid object of its kind. */
export async function schemaProblems(object: KubeObject): Promise<SchemaProblems> {
  const model = await modelOf(object);
  const { proxy, read } = recorder(object);
  const errors: string[] = [];
  try {
    // The model's validate() runs the compiled schema on `this`: here, the recording proxy.
    model.prototype.validate.call(proxy);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  const unknownFields: string[] = [];
  unreadKeys(object, read, [], unknownFields);
  return { errors, unknownFields };
}

/** "Kind/name" for messages. */
export function nameOf(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}
