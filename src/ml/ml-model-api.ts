/**
 * ML Commons' model lifecycle over flowd's native models, with its task semantics:
 * `_register` (a remote model through a stored or inline connector, or one of flowd's
 * built-in local models), `_deploy`, `_undeploy`, update and delete. As ML Commons does, a
 * remote model registers (and deploys) before the answer, its task already COMPLETED; a local
 * model's work runs after the answer, its task going CREATED → RUNNING → COMPLETED (or
 * FAILED), so clients poll `GET /_plugins/_ml/tasks/{id}`. A model registered without
 * `model_group_id` joins the model group named after it, created when there is none, and takes
 * that group's next version.
 */
import { mlNoPermission, tenantOfDoc } from '../util/tenant.js';
import type { ErrorDetails, FlowdError } from '../errors.js';
import { connectorNotFound, notFound, validationError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { CONNECTOR_KIND } from './connectors.js';
import { getLocalModel, listLocalModels } from './local/local-model-registry.js';
import { isObject, jsonish } from './json-util.js';
import type { MlService } from './ml-service.js';
import type { MlTasks } from './ml-tasks.js';
import { ML_FUNCTION_NAMES } from './ml-tasks.js';
import { MODEL_GROUP_KIND, MODEL_KIND, isRemote, localModelDoc, modelGroupDoc, modelState, remoteModelDoc, withState } from './models.js';

export interface RegisterAnswer {
  task_id: string;
  status: 'CREATED';
  model_id?: string;
}

export interface DeployAnswer {
  task_id: string;
  task_type: 'DEPLOY_MODEL';
  status: 'CREATED' | 'COMPLETED';
}

/** An OpenSearch write answer (`_index`, `_id`, `result`, …) as ML Commons returns for update and delete. */
export interface WriteAnswer {
  _index: string;
  _id: string;
  _version: number;
  result: 'updated' | 'deleted';
  _shards: { total: number; successful: number; failed: number };
  _seq_no: number;
  _primary_term: number;
}

const MODEL_INDEX = '.plugins-ml-model';

/** ML Commons answers OpenSearchStatusException (`status_exception`) or IllegalArgumentException. */
const STATUS: ErrorDetails = { opensearchType: 'status_exception' };
const illegal = (message: string, code: string): FlowdError => validationError(message, { code });
const badStatus = (message: string, code: string): FlowdError => validationError(message, { code, details: STATUS });

export const modelNotFoundMl = (): FlowdError => notFound('Failed to find model', { code: 'ml.model_not_found' });

export function writeAnswer(index: string, id: string, result: WriteAnswer['result']): WriteAnswer {
  return { _index: index, _id: id, _version: 1, result, _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1 };
}

/** ML Commons' `paramAsBoolean` for a body field (true/false, or their text). */
function bodyBool(body: JsonObject, key: string): boolean {
  const v = body[key];
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** Fields the update API may set (MLUpdateModelInput), besides connector_id and model_group_id. */
const UPDATABLE = ['name', 'description', 'is_enabled', 'rate_limiter', 'model_config', 'deploy_setting', 'guardrails', 'interface'];

export class MlModelApi {
  readonly #ml: MlService;
  readonly #store: Store;
  readonly #tasks: MlTasks;

  constructor(deps: { ml: MlService; store: Store; tasks: MlTasks }) {
    this.#ml = deps.ml;
    this.#store = deps.store;
    this.#tasks = deps.tasks;
  }

  // ------------------------------------------------------------------ register

  /** `tenantId`: the caller's (multi-tenancy); what the registration creates is that tenant's. */
  async register(body: JsonObject, deployParam: boolean, tenantId?: string): Promise<RegisterAnswer> {
    const name = body['name'];
    if (typeof name !== 'string') throw illegal('model name is null', 'ml.model_name_missing');
    // FunctionName.from: any case; TEXT_EMBEDDING when absent (what a pre-trained model registers as).
    const given = body['function_name'];
    const fn = given === undefined || given === null ? 'TEXT_EMBEDDING' : typeof given === 'string' ? given.toUpperCase() : '';
    if (!ML_FUNCTION_NAMES.has(fn)) throw illegal('Wrong function name', 'ml.bad_function_name');
    const deploy = deployParam || bodyBool(body, 'deploy_model');
    return fn === 'REMOTE' ? this.#registerRemote(body, deploy, tenantId) : this.#registerLocal(body, name, fn, deploy, tenantId);
  }

  async #registerRemote(body: JsonObject, deploy: boolean, tenantId: string | undefined): Promise<RegisterAnswer> {
    const connectorId = typeof body['connector_id'] === 'string' && body['connector_id'].trim() !== '' ? body['connector_id'] : undefined;
    const inline = jsonish(body['connector']);
    if (connectorId !== undefined) {
      const connector = await this.#store.getMlResource(CONNECTOR_KIND, connectorId);
      if (!connector) throw connectorNotFound(connectorId);
      checkTenant(connector.doc, tenantId);
    } else if (!isObject(inline)) {
      throw illegal('You must provide connector content when creating a remote model without connector id!', 'ml.connector_missing');
    }
    // Every field is checked before anything is written: a refused request leaves no connector or group behind.
    remoteModelDoc({ ...body, connector_id: connectorId ?? 'inline' }, 0);
    this.#checkGroupFields(body);
    await this.#checkGroup(body, tenantId);
    // An inline connector is stored as a connector of its own (credential sealed) the model refers to.
    const useConnector = connectorId ?? (await this.#ml.createConnector(inline as JsonObject, tenantOpts(tenantId)));
    const { groupId, version } = await this.#groupAndVersion(body, tenantId);
    const taskId = await this.#tasks.create({
      task_type: 'REGISTER_MODEL',
      function_name: 'REMOTE',
      is_async: false,
      ...tenantField(tenantId),
    });
    let modelId: string;
    try {
      const { connector: _inline, ...rest } = body;
      modelId = await this.#ml.registerRemoteModel({ ...rest, connector_id: useConnector, model_group_id: groupId }, tenantOpts(tenantId));
      await this.#setVersion(modelId, version);
      await this.#tasks.complete(taskId, modelId);
    } catch (e) {
      await this.#tasks.fail(taskId, e);
      throw e;
    }
    if (deploy) await this.deploy(modelId).catch(() => undefined); // its own task records the outcome
    return { task_id: taskId, status: 'CREATED', model_id: modelId };
  }

  async #registerLocal(body: JsonObject, name: string, fn: string, deploy: boolean, tenantId: string | undefined): Promise<RegisterAnswer> {
    const spec = getLocalModel(name.trim());
    if (spec === undefined) {
      const names = listLocalModels().map((m) => m.name);
      throw illegal(
        `Local model [${name}] is not available in flowd: it ships only its built-in models, which need no download: ${names.join(', ')}`,
        'ml.unknown_local_model',
      );
    }
    localModelDoc(body, spec, 0);
    this.#checkGroupFields(body);
    await this.#checkGroup(body, tenantId);
    const taskId = await this.#tasks.create({ task_type: 'REGISTER_MODEL', function_name: fn, is_async: true, ...tenantField(tenantId) });
    this.#tasks.runInBackground(taskId, async () => {
      const { groupId, version } = await this.#groupAndVersion(body, tenantId);
      const modelId = await this.#ml.registerLocalModel({ ...body, model_group_id: groupId }, tenantOpts(tenantId));
      await this.#setVersion(modelId, version);
      if (deploy) await this.deploy(modelId).catch(() => undefined); // its own task records the outcome
      return modelId;
    });
    return { task_id: taskId, status: 'CREATED' };
  }

  /** The group a model without `model_group_id` gets: named after it, with its access fields. */
  #groupBody(body: JsonObject): JsonObject {
    return {
      name: typeof body['name'] === 'string' ? body['name'] : '',
      ...(typeof body['description'] === 'string' ? { description: body['description'] } : {}),
      ...(body['backend_roles'] !== undefined ? { backend_roles: body['backend_roles'] } : {}),
      ...(body['access_mode'] !== undefined ? { access_mode: body['access_mode'] } : {}),
    };
  }

  /** Validates the group a registration would create (the same checks registering it makes). */
  #checkGroupFields(body: JsonObject): void {
    if (typeof body['model_group_id'] !== 'string' || body['model_group_id'] === '') modelGroupDoc(this.#groupBody(body), 0);
  }

  async #checkGroup(body: JsonObject, tenantId: string | undefined): Promise<void> {
    const id = body['model_group_id'];
    if (typeof id !== 'string' || id === '') return;
    const group = await this.#store.getMlResource(MODEL_GROUP_KIND, id);
    if (!group) throw notFound('Fail to find model group', { code: 'ml.model_group_not_found' });
    checkTenant(group.doc, tenantId);
  }

  /** The model's group (given, the one named after the model, or a new one) and its next version, taken. */
  async #groupAndVersion(body: JsonObject, tenantId: string | undefined): Promise<{ groupId: string; version: number }> {
    await this.#checkGroup(body, tenantId);
    let groupId = typeof body['model_group_id'] === 'string' && body['model_group_id'] !== '' ? body['model_group_id'] : undefined;
    if (groupId === undefined) {
      const group = this.#groupBody(body);
      const same = (await this.#store.listMlResources(MODEL_GROUP_KIND)).find(
        (g) => g.doc['name'] === group['name'] && (tenantId === undefined || tenantOfDoc(g.doc) === tenantId),
      );
      groupId = same?.id ?? (await this.#ml.registerModelGroup(group, tenantOpts(tenantId)));
    }
    const group = await this.#store.getMlResource(MODEL_GROUP_KIND, groupId);
    if (!group) throw notFound('Fail to find model group', { code: 'ml.model_group_not_found' });
    const latest = Number(group.doc['latest_version'] ?? 0);
    const version = (Number.isFinite(latest) ? latest : 0) + 1;
    await this.#store.updateMlResource(MODEL_GROUP_KIND, groupId, { ...group.doc, latest_version: version, last_updated_time: Date.now() });
    return { groupId, version };
  }

  async #setVersion(modelId: string, version: number): Promise<void> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (rec) await this.#store.updateMlResource(MODEL_KIND, modelId, { ...rec.doc, model_version: String(version) });
  }

  // ------------------------------------------------------------------ deploy / undeploy

  async deploy(modelId: string): Promise<DeployAnswer> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFoundMl();
    const remote = isRemote(rec.doc);
    // The task names one of ML Commons' function names: flowd's built-ins have their own algorithms.
    const algorithm = typeof rec.doc['algorithm'] === 'string' ? rec.doc['algorithm'] : '';
    const fn = ML_FUNCTION_NAMES.has(algorithm) ? algorithm : ((await this.#tasks.registeredFunctionName(modelId)) ?? 'TEXT_EMBEDDING');
    const taskId = await this.#tasks.create({
      model_id: modelId,
      task_type: 'DEPLOY_MODEL',
      function_name: fn,
      is_async: true,
      ...tenantField(tenantOfDoc(rec.doc)),
    });
    const node = this.#tasks.nodeId;
    await this.#store.updateMlResource(MODEL_KIND, modelId, {
      ...withState(rec.doc, 'DEPLOYING', Date.now()),
      planning_worker_node_count: 1,
      planning_worker_nodes: [node],
      deploy_to_all_nodes: true,
    });
    const work = async (): Promise<string> => {
      try {
        await this.#ml.deployModel(modelId);
      } catch (e) {
        const now = await this.#store.getMlResource(MODEL_KIND, modelId);
        if (now && modelState(now.doc) === 'DEPLOYING')
          await this.#store.updateMlResource(MODEL_KIND, modelId, withState(now.doc, 'DEPLOY_FAILED', Date.now()));
        throw e;
      }
      await this.#patchModel(modelId, { current_worker_node_count: 1 });
      return modelId;
    };
    if (!remote) {
      this.#tasks.runInBackground(taskId, work);
      return { task_id: taskId, task_type: 'DEPLOY_MODEL', status: 'CREATED' };
    }
    // ML Commons deploys a remote model before answering, and answers COMPLETED.
    try {
      await this.#tasks.update(taskId, { state: 'RUNNING' });
      await this.#tasks.complete(taskId, await work());
    } catch (e) {
      await this.#tasks.fail(taskId, e);
      throw e;
    }
    return { task_id: taskId, task_type: 'DEPLOY_MODEL', status: 'COMPLETED' };
  }

  /** `{node: {stats: {model: "UNDEPLOYED"}}}`, or `{}` when no node served the model. */
  async undeploy(modelId: string): Promise<Record<string, { stats: Record<string, string> }>> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFoundMl();
    const was = modelState(rec.doc);
    await this.#ml.undeployModel(modelId);
    await this.#patchModel(modelId, { planning_worker_node_count: 0, planning_worker_nodes: [], current_worker_node_count: 0 });
    return was === 'DEPLOYED' || was === 'DEPLOYING' ? { [this.#tasks.nodeId]: { stats: { [modelId]: 'UNDEPLOYED' } } } : {};
  }

  async #patchModel(modelId: string, fields: Readonly<Record<string, JsonValue>>): Promise<void> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (rec) await this.#store.updateMlResource(MODEL_KIND, modelId, { ...rec.doc, ...fields });
  }

  // ------------------------------------------------------------------ update / delete

  /** `tenantId`: the caller's (multi-tenancy): another tenant's connector or group is refused. */
  async update(modelId: string, body: JsonObject, tenantId?: string): Promise<WriteAnswer> {
    if (body['connector_id'] !== undefined && body['connector'] !== undefined) {
      throw badStatus(
        'Model cannot have both stand-alone connector and internal connector. Please check your update input body.',
        'ml.update_both_connectors',
      );
    }
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw notFound(`Failed to find model to update with the provided model id: ${modelId}`, { code: 'ml.model_not_found' });
    if (modelState(rec.doc) === 'DEPLOYING') {
      throw badStatus(`Model is deploying. Please wait for the model to complete deployment. model ID ${modelId}`, 'ml.model_deploying');
    }
    const remote = isRemote(rec.doc);
    const wantsConnector = body['connector_id'] !== undefined || body['connector'] !== undefined;
    if (wantsConnector && !remote)
      throw badStatus('Trying to update the connector or connector_id field on a local model.', 'ml.local_connector');
    if (body['connector'] !== undefined) {
      throw badStatus(
        'Cannot update connector settings for this model. The model was created with a connector_id and does not have an inline connector.',
        'ml.inline_connector_update',
      );
    }
    const doc: JsonObject = { ...rec.doc };
    const connectorId = body['connector_id'];
    if (connectorId !== undefined) {
      const connector = typeof connectorId === 'string' ? await this.#store.getMlResource(CONNECTOR_KIND, connectorId) : undefined;
      if (!connector) throw connectorNotFound(typeof connectorId === 'string' ? connectorId : undefined);
      checkTenant(connector.doc, tenantId);
      doc['connector_id'] = connectorId;
    }
    const groupId = body['model_group_id'];
    if (groupId !== undefined && groupId !== doc['model_group_id']) {
      const group = typeof groupId === 'string' ? await this.#store.getMlResource(MODEL_GROUP_KIND, groupId) : undefined;
      if (!group) {
        throw notFound(
          `Failed to find the model group with the provided model group id in the update model input, MODEL_GROUP_ID: ${textOfValue(groupId)}`,
          { code: 'ml.model_group_not_found' },
        );
      }
      checkTenant(group.doc, tenantId);
      const version = Number(group.doc['latest_version'] ?? 0) + 1;
      await this.#store.updateMlResource(MODEL_GROUP_KIND, group.id, {
        ...group.doc,
        latest_version: version,
        last_updated_time: Date.now(),
      });
      doc['model_group_id'] = group.id;
      doc['model_version'] = String(version);
    }
    for (const key of UPDATABLE) {
      if (body[key] === undefined) continue;
      const v = body[key];
      if (key === 'is_enabled') {
        if (typeof v !== 'boolean')
          throw illegal(`Failed to parse value [${textOfValue(v)}] as only [true] or [false] are allowed.`, 'ml.bad_boolean');
        doc[key] = v;
      } else if ((key === 'name' || key === 'description') && typeof v !== 'string') {
        throw illegal(`[${key}] must be a string`, 'ml.bad_field');
      } else {
        doc[key] = v;
      }
    }
    doc['last_updated_time'] = Date.now();
    await this.#store.updateMlResource(MODEL_KIND, modelId, doc);
    return writeAnswer(MODEL_INDEX, modelId, 'updated');
  }

  async delete(modelId: string): Promise<WriteAnswer> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFoundMl();
    const state = modelState(rec.doc);
    if (state === 'DEPLOYED' || state === 'DEPLOYING') {
      throw badStatus('Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete', 'ml.model_deployed');
    }
    if (!(await this.#ml.deleteModel(modelId))) throw modelNotFoundMl();
    return writeAnswer(MODEL_INDEX, modelId, 'deleted');
  }
}

/** ML Commons' validateTenantResource: with multi-tenancy (`tenantId` given), another tenant's resource is a 403. */
function checkTenant(doc: JsonObject, tenantId: string | undefined): void {
  if (tenantId !== undefined && tenantOfDoc(doc) !== tenantId) throw mlNoPermission();
}
const tenantOpts = (tenantId: string | undefined): { tenantId?: string } => (tenantId === undefined ? {} : { tenantId });
const tenantField = (tenantId: string | undefined): { tenant_id?: string } => (tenantId === undefined ? {} : { tenant_id: tenantId });

const textOfValue = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));
