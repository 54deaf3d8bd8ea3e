/**
 * The ML Commons REST operations that change a stored connector or model group after its
 * creation (update, model-group delete and name uniqueness), over the Store; MlService
 * delegates to them. Each answers false when the resource does not exist (the route says 404).
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { JsonObject } from '../util/json.js';
import type { SecretBox } from '../util/secret-box.js';
import { connectorInUseByDeployed, updatedConnectorDoc } from './connector-update.js';
import { CONNECTOR_KIND } from './connectors.js';
import type { ModelGroupCaller } from './model-group-rules.js';
import { duplicateGroupName, duplicateGroupNameOnUpdate, groupHasModels, updatedModelGroupDoc } from './model-group-rules.js';
import { MODEL_GROUP_KIND, MODEL_KIND, connectorIdOf, modelState } from './models.js';

export interface MlUpdateDeps {
  store: Store;
  secrets: SecretBox;
  logger: Logger;
}

/**
 * ML Commons refuses a second model group of the same (exact) name, in other words on rename
 * (`onUpdate`); with multi-tenancy, within the tenant only (`tenantId`), as its name search is filtered.
 */
export async function checkGroupNameFree(store: Store, name: string, onUpdate = false, tenantId?: string): Promise<void> {
  const taken = (await store.listMlResources(MODEL_GROUP_KIND)).find(
    (g) => g.doc['name'] === name && (tenantId === undefined || g.doc['tenant_id'] === tenantId),
  );
  if (taken) throw onUpdate ? duplicateGroupNameOnUpdate(taken.id) : duplicateGroupName(taken.id);
}

/**
 * `next` with the stored document's `tenant_id` (multi-tenancy): an update rebuilds a document
 * from its fields, and the tenant a resource belongs to is not one an update changes.
 */
export function keepTenantId(stored: JsonObject, next: JsonObject): JsonObject {
  const t = stored['tenant_id'];
  if (t === undefined) return next;
  return { ...next, tenant_id: t };
}

export async function updateConnector(d: MlUpdateDeps, connectorId: string, body: JsonObject): Promise<boolean> {
  const rec = await d.store.getMlResource(CONNECTOR_KIND, connectorId);
  if (!rec) return false;
  const doc = keepTenantId(rec.doc, updatedConnectorDoc(rec.doc, body, d.secrets, Date.now()));
  // As ML Commons: only models serving now (deployed) hold the connector; registered ones read it when deployed.
  const serving = (await d.store.listMlResources(MODEL_KIND))
    .filter((m) => connectorIdOf(m.doc) === connectorId && ['DEPLOYED', 'DEPLOYING'].includes(modelState(m.doc)))
    .map((m) => m.id);
  if (serving.length > 0) throw connectorInUseByDeployed(serving);
  const updated = await d.store.updateMlResource(CONNECTOR_KIND, connectorId, doc);
  if (updated) d.logger.info({ kind: CONNECTOR_KIND, id: connectorId }, 'ml resource updated');
  return updated;
}

export async function updateModelGroup(
  d: MlUpdateDeps,
  modelGroupId: string,
  body: JsonObject,
  caller: ModelGroupCaller | undefined,
): Promise<boolean> {
  const rec = await d.store.getMlResource(MODEL_GROUP_KIND, modelGroupId);
  if (!rec) return false;
  const doc = keepTenantId(rec.doc, updatedModelGroupDoc(rec.doc, body, caller, Date.now()));
  if (typeof doc['name'] === 'string' && doc['name'] !== rec.doc['name']) {
    await checkGroupNameFree(d.store, doc['name'], true, typeof rec.doc['tenant_id'] === 'string' ? rec.doc['tenant_id'] : undefined);
  }
  const updated = await d.store.updateMlResource(MODEL_GROUP_KIND, modelGroupId, doc);
  if (updated) d.logger.info({ kind: MODEL_GROUP_KIND, id: modelGroupId }, 'ml resource updated');
  return updated;
}

/** Refused (409) while a model of the group exists, as ML Commons refuses it. */
export async function deleteModelGroup(d: MlUpdateDeps, modelGroupId: string): Promise<boolean> {
  if (!(await d.store.getMlResource(MODEL_GROUP_KIND, modelGroupId))) return false;
  if ((await d.store.listMlResources(MODEL_KIND)).some((m) => m.doc['model_group_id'] === modelGroupId)) throw groupHasModels();
  const deleted = await d.store.deleteMlResource(MODEL_GROUP_KIND, modelGroupId);
  if (deleted) d.logger.info({ kind: MODEL_GROUP_KIND, id: modelGroupId }, 'ml resource deleted');
  return deleted;
}
