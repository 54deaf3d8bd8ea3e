/**
 * Native ML resources that live in flowd: the slice of ML Commons that Flow Framework's ML
 * steps provision (connectors, model groups, remote and local models, agents) and the
 * `_predict` that deployed models answer. Documents persist through the Store (kinds
 * `connector`, `model`, `model_group`, `agent`), so every flowd node sees the same resources;
 * local models are loaded in-process, lazily on any node that serves them.
 */
import type { Logger } from 'pino';
import { conflict, connectorNotFound, modelNotFound, notFound, stepFailure, validationError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { JsonObject } from '../util/json.js';
import { newId } from '../util/ids.js';
import { OutboundClient } from '../util/outbound-client.js';
import { UNRESTRICTED_OUTBOUND_POLICY } from '../util/outbound-policy.js';
import type { SecretBox } from '../util/secret-box.js';
import { AGENT_KIND, agentDoc, publicAgent } from './agents.js';
import { updatedAgentDoc } from './agent-input.js';
import { openAgentSecrets, sealAgentSecrets } from './agent-secrets.js';
import type { OpenedConnector } from './connectors.js';
import { CONNECTOR_KIND, connectorDoc, openConnector, publicConnector } from './connectors.js';
import type { LoadedLocalModel, LocalModelInfo, LocalModelSpec } from './local/local-model.js';
import { getLocalModel, listLocalModels } from './local/local-model-registry.js';
import { textOf } from './json-util.js';
import { LocalModelPool } from './local-pool.js';
import type { ModelState } from './models.js';
import {
  MODEL_GROUP_KIND,
  MODEL_KIND,
  connectorIdOf,
  isRemote,
  localModelDoc,
  modelGroupDoc,
  modelState,
  remoteModelDoc,
  withState,
} from './models.js';
import type { PredictResponse } from './predict-io.js';
import { localInput, localResponse, parsePredictBody } from './predict-io.js';
import { predictRemote } from './remote-predict.js';
import type { ModelGroupCaller } from './model-group-rules.js';
import * as updates from './ml-resource-updates.js';

export type { ModelState } from './models.js';
export type { ModelTensor, ModelTensorOutput, PredictResponse } from './predict-io.js';

/**
 * What a runtime block needs to call a model or a connector from an instance: a built-in
 * local model's name, or the connector with its credential opened (kept in memory only).
 */
export type BlockMlTarget =
  { kind: 'local'; modelId: string; name: string } | { kind: 'remote'; modelId?: string; connector: OpenedConnector };

export interface CreateOptions {
  /** The same key returns the resource created first instead of creating another. */
  idempotencyKey?: string;
  /** Multi-tenancy: the tenant it belongs to, stored as the document's `tenant_id` (ML Commons' field). */
  tenantId?: string;
}

export interface MlService {
  /** Validates and stores a connector (credential sealed); returns its id. */
  createConnector(body: JsonObject, opts?: CreateOptions): Promise<string>;
  /** The connector without its credential. */
  getConnector(connectorId: string): Promise<JsonObject | undefined>;
  /** False when it did not exist; refused (409) while a model uses it. */
  deleteConnector(connectorId: string): Promise<boolean>;
  /** ML Commons' update (credential sealed anew); false when missing; refused (400) while a deployed model uses it. */
  updateConnector(connectorId: string, body: JsonObject): Promise<boolean>;

  /** Without an idempotency key (the REST API) a name already in use is refused, as ML Commons does. */
  registerModelGroup(body: JsonObject, opts?: CreateOptions): Promise<string>;
  getModelGroup(modelGroupId: string): Promise<JsonObject | undefined>;
  /** ML Commons' update (model-group-rules.ts); false when missing. */
  updateModelGroup(modelGroupId: string, body: JsonObject, caller: ModelGroupCaller | undefined): Promise<boolean>;
  /** False when it did not exist; refused (409) while one of its models exists. */
  deleteModelGroup(modelGroupId: string): Promise<boolean>;

  /** `connector_id` must exist (404 "Failed to find connector <id>"). */
  registerRemoteModel(body: JsonObject, opts?: CreateOptions): Promise<string>;
  /** `name` must be one of `listLocalModels()`. */
  registerLocalModel(body: JsonObject, opts?: CreateOptions): Promise<string>;
  getModel(modelId: string): Promise<JsonObject | undefined>;
  /** Loads a local model / marks a remote one deployed; 404 when missing. Idempotent. */
  deployModel(modelId: string, signal?: AbortSignal): Promise<ModelState>;
  /** Releases the model; false when it does not exist. Idempotent. */
  undeployModel(modelId: string): Promise<boolean>;
  /** False when it did not exist; refused (409) while deployed, as ML Commons does. */
  deleteModel(modelId: string): Promise<boolean>;
  /** ML Commons `_predict`: 404 unknown model, 400 not deployed. */
  predict(modelId: string, body: unknown, signal?: AbortSignal): Promise<PredictResponse>;

  registerAgent(body: JsonObject, opts?: CreateOptions): Promise<string>;
  getAgent(agentId: string): Promise<JsonObject | undefined>;
  deleteAgent(agentId: string): Promise<boolean>;
  /** ML Commons' agent update (agent-input.ts); false when the agent does not exist. */
  updateAgent(agentId: string, patch: JsonObject): Promise<boolean>;
  /** The agent with its sealed parameters opened, to run it: never rendered. */
  openAgent(agentId: string): Promise<JsonObject | undefined>;
  /** A connector's `execute` action (ConnectorTool): 404 unknown connector, 400 without one. */
  executeConnector(connectorId: string, parameters: JsonObject, signal?: AbortSignal): Promise<PredictResponse>;

  /**
   * For the runtime's `model` and `http` blocks at publish time: the deployed model (404 when
   * unknown, 409 when not deployed, 400 when disabled) or the connector (404 when unknown).
   */
  openForBlock(ref: { modelId: string } | { connectorId: string }): Promise<BlockMlTarget>;

  /** The built-in local models `registerLocalModel` accepts. */
  listLocalModels(): LocalModelInfo[];
  /** Releases every loaded local model. */
  close(): Promise<void>;
}

export interface NativeMlServiceDeps {
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  /**
   * Remote models are called through it, under its policy (the node passes the configured
   * one). Absent: no address restriction, sent through `fetch` when given (unit tests).
   */
  outbound?: OutboundClient;
  fetch?: typeof fetch;
}

/** `p`, or the signal's reason as soon as it aborts (loading itself cannot be interrupted). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class NativeMlService implements MlService {
  readonly #store: Store;
  readonly #secrets: SecretBox;
  readonly #outbound: OutboundClient;
  readonly #logger: Logger;
  readonly #pool = new LocalModelPool();

  constructor(deps: NativeMlServiceDeps) {
    this.#store = deps.store;
    this.#secrets = deps.secrets;
    this.#outbound = deps.outbound ?? new OutboundClient(UNRESTRICTED_OUTBOUND_POLICY, deps.fetch ? { fetch: deps.fetch } : {});
    this.#logger = deps.logger;
  }

  async #create(kind: string, doc: JsonObject, opts: CreateOptions | undefined): Promise<string> {
    const stamped = opts?.tenantId !== undefined ? { ...doc, tenant_id: opts.tenantId } : doc;
    const { record, created } = await this.#store.createMlResource(kind, newId(), stamped, opts?.idempotencyKey);
    this.#logger.info(
      { kind, id: record.id, name: doc['name'], created },
      created ? 'ml resource created' : 'ml resource already created (same idempotency key)',
    );
    return record.id;
  }

  // ------------------------------------------------------------------ connectors

  async createConnector(body: JsonObject, opts?: CreateOptions): Promise<string> {
    return this.#create(CONNECTOR_KIND, connectorDoc(body, this.#secrets, Date.now()), opts);
  }

  async getConnector(connectorId: string): Promise<JsonObject | undefined> {
    const rec = await this.#store.getMlResource(CONNECTOR_KIND, connectorId);
    return rec ? publicConnector(rec.doc) : undefined;
  }

  async deleteConnector(connectorId: string): Promise<boolean> {
    if (!(await this.#store.getMlResource(CONNECTOR_KIND, connectorId))) return false;
    const users = (await this.#store.listMlResources(MODEL_KIND)).filter((m) => connectorIdOf(m.doc) === connectorId).map((m) => m.id);
    if (users.length > 0) {
      throw conflict(
        `${users.length} models are still using this connector, please delete or update the models first: [${users.join(', ')}]`,
        {
          code: 'ml.connector_in_use',
        },
      );
    }
    const deleted = await this.#store.deleteMlResource(CONNECTOR_KIND, connectorId);
    if (deleted) this.#logger.info({ kind: CONNECTOR_KIND, id: connectorId }, 'ml resource deleted');
    return deleted;
  }

  async updateConnector(connectorId: string, body: JsonObject): Promise<boolean> {
    return updates.updateConnector(this.#updateDeps(), connectorId, body);
  }

  // ------------------------------------------------------------------ model groups

  async registerModelGroup(body: JsonObject, opts?: CreateOptions): Promise<string> {
    const doc = modelGroupDoc(body, Date.now());
    // A step's retry (same idempotency key) must get back the group it created.
    if (opts?.idempotencyKey === undefined) await updates.checkGroupNameFree(this.#store, textOf(doc['name'] ?? ''), false, opts?.tenantId);
    return this.#create(MODEL_GROUP_KIND, doc, opts);
  }

  async updateModelGroup(modelGroupId: string, body: JsonObject, caller: ModelGroupCaller | undefined): Promise<boolean> {
    return updates.updateModelGroup(this.#updateDeps(), modelGroupId, body, caller);
  }

  async deleteModelGroup(modelGroupId: string): Promise<boolean> {
    return updates.deleteModelGroup(this.#updateDeps(), modelGroupId);
  }

  #updateDeps(): updates.MlUpdateDeps {
    return { store: this.#store, secrets: this.#secrets, logger: this.#logger };
  }

  async getModelGroup(modelGroupId: string): Promise<JsonObject | undefined> {
    return (await this.#store.getMlResource(MODEL_GROUP_KIND, modelGroupId))?.doc;
  }

  // ------------------------------------------------------------------ models

  async #checkGroup(doc: JsonObject): Promise<void> {
    const group = doc['model_group_id'];
    if (typeof group === 'string' && !(await this.#store.getMlResource(MODEL_GROUP_KIND, group))) {
      throw notFound(`Failed to find model group ${group}`, { code: 'ml.model_group_not_found' });
    }
  }

  async registerRemoteModel(body: JsonObject, opts?: CreateOptions): Promise<string> {
    const doc = remoteModelDoc(body, Date.now());
    const connectorId = connectorIdOf(doc) ?? '';
    if (!(await this.#store.getMlResource(CONNECTOR_KIND, connectorId))) throw connectorNotFound(connectorId);
    await this.#checkGroup(doc);
    return this.#create(MODEL_KIND, doc, opts);
  }

  async registerLocalModel(body: JsonObject, opts?: CreateOptions): Promise<string> {
    const name = typeof body['name'] === 'string' ? body['name'].trim() : '';
    const spec = getLocalModel(name);
    if (spec === undefined) {
      const names = listLocalModels().map((m) => m.name);
      throw validationError(
        `Local model [${name}] is not available in flowd: it ships only its built-in models, which need no download: ${names.join(', ')}`,
        { code: 'ml.unknown_local_model' },
      );
    }
    const doc = localModelDoc(body, spec, Date.now());
    await this.#checkGroup(doc);
    return this.#create(MODEL_KIND, doc, opts);
  }

  async getModel(modelId: string): Promise<JsonObject | undefined> {
    return (await this.#store.getMlResource(MODEL_KIND, modelId))?.doc;
  }

  #localSpec(modelId: string, doc: JsonObject): LocalModelSpec {
    const spec = typeof doc['name'] === 'string' ? getLocalModel(doc['name']) : undefined;
    if (spec === undefined)
      throw stepFailure(`Model ${modelId} refers to a local model this flowd does not have: ${textOf(doc['name'] ?? null)}`, {
        code: 'ml.unknown_local_model',
      });
    return spec;
  }

  async #loadLocal(modelId: string, doc: JsonObject, signal: AbortSignal | undefined): Promise<LoadedLocalModel> {
    return abortable(this.#pool.get(modelId, this.#localSpec(modelId, doc)), signal);
  }

  async deployModel(modelId: string, signal?: AbortSignal): Promise<ModelState> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFound();
    if (isRemote(rec.doc)) {
      const connectorId = connectorIdOf(rec.doc) ?? '';
      if (!(await this.#store.getMlResource(CONNECTOR_KIND, connectorId))) throw connectorNotFound(connectorId);
    } else {
      try {
        await this.#loadLocal(modelId, rec.doc, signal);
      } catch (e) {
        if (signal?.aborted) throw e;
        await this.#store.updateMlResource(MODEL_KIND, modelId, withState(rec.doc, 'DEPLOY_FAILED', Date.now()));
        throw stepFailure(`Failed to deploy model ${modelId}: ${(e as Error).message}`, { code: 'ml.deploy_failed', cause: e });
      }
    }
    if (modelState(rec.doc) !== 'DEPLOYED') {
      await this.#store.updateMlResource(MODEL_KIND, modelId, withState(rec.doc, 'DEPLOYED', Date.now()));
      this.#logger.info({ kind: MODEL_KIND, id: modelId }, 'model deployed');
    }
    return 'DEPLOYED';
  }

  async undeployModel(modelId: string): Promise<boolean> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    this.#pool.release(modelId);
    if (!rec) return false;
    const state = modelState(rec.doc);
    if (state !== 'REGISTERED' && state !== 'UNDEPLOYED') {
      await this.#store.updateMlResource(MODEL_KIND, modelId, withState(rec.doc, 'UNDEPLOYED', Date.now()));
      this.#logger.info({ kind: MODEL_KIND, id: modelId }, 'model undeployed');
    }
    return true;
  }

  async deleteModel(modelId: string): Promise<boolean> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) return false;
    const state = modelState(rec.doc);
    if (state === 'DEPLOYED' || state === 'DEPLOYING') {
      throw conflict('Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete', {
        code: 'ml.model_deployed',
      });
    }
    this.#pool.release(modelId);
    const deleted = await this.#store.deleteMlResource(MODEL_KIND, modelId);
    if (deleted) this.#logger.info({ kind: MODEL_KIND, id: modelId }, 'ml resource deleted');
    return deleted;
  }

  async predict(modelId: string, body: unknown, signal?: AbortSignal): Promise<PredictResponse> {
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFound();
    if (rec.doc['is_enabled'] === false) throw validationError('Model is disabled.', { code: 'ml.model_disabled' });
    if (modelState(rec.doc) !== 'DEPLOYED') {
      throw validationError(`Model not ready yet. Please deploy the model first: POST /_plugins/_ml/models/${modelId}/_deploy`, {
        code: 'ml.model_not_deployed',
      });
    }
    const input = parsePredictBody(body);
    if (isRemote(rec.doc)) {
      const connectorId = connectorIdOf(rec.doc) ?? '';
      const connector = await this.#store.getMlResource(CONNECTOR_KIND, connectorId);
      if (!connector) throw connectorNotFound(connectorId);
      const opened = openConnector(connector.doc, this.#secrets);
      return predictRemote({ outbound: this.#outbound, logger: this.#logger }, opened, input, signal);
    }
    const { texts, parameters } = localInput(input);
    // Deployed on another node or before a restart: load here on first use.
    const model = await this.#loadLocal(modelId, rec.doc, signal);
    try {
      return localResponse(await model.predict(texts, parameters, signal));
    } catch (e) {
      if (signal?.aborted) throw e;
      throw stepFailure(`Local model ${textOf(rec.doc['name'] ?? null)} failed: ${(e as Error).message}`, {
        code: 'ml.predict_failed',
        cause: e,
      });
    }
  }

  // ------------------------------------------------------------------ runtime blocks

  async openForBlock(ref: { modelId: string } | { connectorId: string }): Promise<BlockMlTarget> {
    if ('connectorId' in ref) {
      const connector = await this.#store.getMlResource(CONNECTOR_KIND, ref.connectorId);
      if (!connector) throw connectorNotFound(ref.connectorId);
      return { kind: 'remote', connector: this.#openForInstance(connector.doc) };
    }
    const { modelId } = ref;
    const rec = await this.#store.getMlResource(MODEL_KIND, modelId);
    if (!rec) throw modelNotFound(modelId);
    if (rec.doc['is_enabled'] === false)
      throw validationError(`Model ${modelId} is disabled; enable it before publishing a flow that uses it`, { code: 'ml.model_disabled' });
    const state = modelState(rec.doc);
    if (state !== 'DEPLOYED') {
      throw conflict(
        `Model ${modelId} is ${state}, not DEPLOYED: deploy it first (POST /_plugins/_ml/models/${modelId}/_deploy, or a deploy_model step in the template's provision workflow)`,
        { code: 'ml.model_not_deployed' },
      );
    }
    if (!isRemote(rec.doc)) return { kind: 'local', modelId, name: this.#localSpec(modelId, rec.doc).name };
    const connectorId = connectorIdOf(rec.doc) ?? '';
    const connector = await this.#store.getMlResource(CONNECTOR_KIND, connectorId);
    if (!connector) throw connectorNotFound(connectorId);
    return { kind: 'remote', modelId, connector: this.#openForInstance(connector.doc) };
  }

  /** Instances call remote services under this node's outbound policy: it travels with the connector. */
  #openForInstance(doc: JsonObject): OpenedConnector {
    return { ...openConnector(doc, this.#secrets), outbound: this.#outbound.policy };
  }

  // ------------------------------------------------------------------ agents

  async registerAgent(body: JsonObject, opts?: CreateOptions): Promise<string> {
    return this.#create(AGENT_KIND, sealAgentSecrets(agentDoc(body, this.#secrets, Date.now()), this.#secrets), opts);
  }

  async getAgent(agentId: string): Promise<JsonObject | undefined> {
    const rec = await this.#store.getMlResource(AGENT_KIND, agentId);
    return rec ? publicAgent(rec.doc) : undefined;
  }

  async deleteAgent(agentId: string): Promise<boolean> {
    const deleted = await this.#store.deleteMlResource(AGENT_KIND, agentId);
    if (deleted) this.#logger.info({ kind: AGENT_KIND, id: agentId }, 'ml resource deleted');
    return deleted;
  }

  async updateAgent(agentId: string, patch: JsonObject): Promise<boolean> {
    const rec = await this.#store.getMlResource(AGENT_KIND, agentId);
    if (!rec) return false;
    const doc = updates.keepTenantId(rec.doc, updatedAgentDoc(rec.doc, patch, this.#secrets, Date.now()));
    const updated = await this.#store.updateMlResource(AGENT_KIND, agentId, doc);
    if (updated) this.#logger.info({ kind: AGENT_KIND, id: agentId }, 'ml resource updated');
    return updated;
  }

  async openAgent(agentId: string): Promise<JsonObject | undefined> {
    const rec = await this.#store.getMlResource(AGENT_KIND, agentId);
    return rec ? openAgentSecrets(rec.doc, this.#secrets) : undefined;
  }

  async executeConnector(connectorId: string, parameters: JsonObject, signal?: AbortSignal): Promise<PredictResponse> {
    const rec = await this.#store.getMlResource(CONNECTOR_KIND, connectorId);
    if (!rec) throw notFound(`Can't find connector ${connectorId}`, { code: 'ml.connector_not_found' });
    const opened = openConnector(rec.doc, this.#secrets);
    const action = opened.actions.find((a) => a.action_type === 'EXECUTE');
    if (action === undefined) {
      throw validationError(`Connector [${opened.name}] has no execute action: ConnectorTool runs a connector's execute action`, {
        code: 'ml.no_execute_action',
      });
    }
    // The remote call runs the action it is given as the predict one.
    const asPredict = { ...opened, actions: [{ ...action, action_type: 'PREDICT' }] };
    return predictRemote({ outbound: this.#outbound, logger: this.#logger }, asPredict, { textDocs: undefined, parameters }, signal);
  }

  listLocalModels(): LocalModelInfo[] {
    return listLocalModels();
  }

  async close(): Promise<void> {
    this.#pool.clear();
  }
}
