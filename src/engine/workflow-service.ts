/**
 * Workflow management (the create / update / provision / deprovision / delete semantics of
 * Flow Framework's REST API), above the Store and the Provisioner. HTTP-agnostic: the routes translate
 * requests into these calls and render what they return.
 */
import { conflict, validationError, workflowNotFound } from '../errors.js';
import type { Store } from '../store/store.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { SecretBox } from '../util/secret-box.js';
import { newId } from '../util/ids.js';
import type { OsUser, Template } from '../template/types.js';
import type { OnFailure } from './plan.js';
import type { Provisioner } from './provisioner.js';
import { sealTemplateSecrets } from './secret-fields.js';
import { provisionWorkflowOf } from './flow-section.js';

export interface WorkflowServiceDeps {
  store: Store;
  registry: StepRegistry;
  secrets: SecretBox;
  provisioner: Provisioner;
  maxWorkflows: number;
}

export interface CreateOptions {
  validate: boolean;
  provision: boolean;
  params: Record<string, string>;
  onFailure: OnFailure;
  user: OsUser | undefined;
  /** Multi-tenancy: the tenant it belongs to (the caller's `x-tenant-id`), whatever the body says. */
  tenantId?: string;
}

export class WorkflowService {
  readonly #deps: WorkflowServiceDeps;

  constructor(deps: WorkflowServiceDeps) {
    this.#deps = deps;
  }

  /** Create a workflow; with `provision`, start provisioning it (validation errors leave nothing behind). */
  async create(template: Template, opts: CreateOptions): Promise<string> {
    if (opts.validate || opts.provision) this.#deps.provisioner.validateTemplate(template, null);
    if (opts.provision && !provisionWorkflowOf(template)) {
      throw validationError('The template has no [provision] workflow (or flow) to provision.');
    }
    const now = Date.now();
    const id = newId();
    const stored: Template = {
      ...sealTemplateSecrets(template, this.#deps.registry, this.#deps.secrets),
      created_time: now,
      last_updated_time: now,
    };
    delete stored.last_provisioned_time;
    if (opts.user) stored.user = opts.user;
    else delete stored.user;
    if (opts.tenantId !== undefined) stored.tenant_id = opts.tenantId;
    const res = await this.#deps.store.createWorkflow({
      id,
      template: stored,
      ...(opts.user ? { user: opts.user } : {}),
      maxWorkflows: this.#deps.maxWorkflows,
    });
    if (res === 'limit') throw validationError(`Maximum workflows limit reached: ${this.#deps.maxWorkflows}`, { code: 'workflow.limit' });
    if (opts.provision) {
      try {
        await this.#deps.provisioner.provision(id, { params: opts.params, onFailure: opts.onFailure });
      } catch (e) {
        // Flow Framework leaves an orphan template here and returns no id; flowd removes it.
        await this.#deps.store.deleteWorkflow(id, true);
        throw e;
      }
    }
    return id;
  }

  /** Full update: only while NOT_STARTED; keeps created_time and last_provisioned_time. */
  async replace(id: string, template: Template, validate: boolean, user: OsUser | undefined): Promise<void> {
    const existing = await this.#deps.store.getWorkflow(id);
    if (!existing) throw workflowNotFound(id);
    if (validate) this.#deps.provisioner.validateTemplate(template, id);
    const next: Template = {
      ...sealTemplateSecrets(template, this.#deps.registry, this.#deps.secrets),
      last_updated_time: Date.now(),
    };
    if (existing.template.created_time !== undefined) next.created_time = existing.template.created_time;
    if (existing.template.last_provisioned_time !== undefined) next.last_provisioned_time = existing.template.last_provisioned_time;
    else delete next.last_provisioned_time;
    if (user) next.user = user;
    else delete next.user;
    keepTenant(next, existing.template);
    const res = await this.#deps.store.replaceWorkflow(id, next);
    if (res === 'not_found') throw workflowNotFound(id);
    if (res === 'not_editable') {
      throw validationError(
        `The template can not be updated unless its provisioning state is NOT_STARTED: ${id}. Deprovision the workflow to reset the state.`,
        { code: 'workflow.not_editable' },
      );
    }
  }

  /** update_fields=true: merge the allow-listed fields, in any state. */
  async updateFields(id: string, patch: Partial<Template>): Promise<void> {
    const existing = await this.#deps.store.getWorkflow(id);
    if (!existing) throw workflowNotFound(id);
    if (!(await this.#deps.store.saveTemplate(id, withUpdatedFields(existing.template, patch)))) throw workflowNotFound(id);
  }

  async reprovision(id: string, template: Template, user: OsUser | undefined, params: Record<string, string>): Promise<void> {
    const existing = await this.#deps.store.getWorkflow(id);
    if (!existing) throw workflowNotFound(id);
    const next: Template = {
      ...sealTemplateSecrets(template, this.#deps.registry, this.#deps.secrets),
      last_updated_time: Date.now(),
    };
    if (existing.template.created_time !== undefined) next.created_time = existing.template.created_time;
    if (user) next.user = user;
    else if (existing.template.user) next.user = existing.template.user;
    keepTenant(next, existing.template);
    await this.#deps.provisioner.reprovision(id, next, { params, onFailure: 'keep' });
  }

  /**
   * Deletes the template and, with `clearStatus`, its state. Everything that can refuse is
   * decided before anything is deleted: nothing to delete (no template; with `clearStatus`, no
   * state either) is `templateDeleted: false` as Flow Framework answers it (OpenSearch's delete
   * of a missing document), or 404 with `missingIsError` (FF under filter_by_backend_roles looks
   * the workflow up first); `authorize` on the template's owner and, when the state is to be
   * cleared, on the state's owner (it may be all that is left), then 409 while provisioning runs
   * or while the state still records created resources or a published flow: clearing it would
   * orphan them (services kept serving and came back at every restart), so they are
   * deprovisioned first.
   */
  async delete(
    id: string,
    clearStatus: boolean,
    authorize: (owner: OsUser | undefined) => void,
    missingIsError = false,
  ): Promise<DeleteOutcome> {
    const { store } = this.#deps;
    const rec = await store.getWorkflow(id);
    const state = clearStatus ? await store.getState(id, { steps: false }) : undefined;
    if (!rec && !state) {
      if (missingIsError) throw workflowNotFound(id);
      return { templateDeleted: false, version: undefined };
    }
    if (rec) authorize(rec.template.user);
    if (state) {
      authorize(state.user);
      if (state.state === 'PROVISIONING' || state.progress === 'IN_PROGRESS') {
        throw conflict(`Workflow ${id} is provisioning; its status can not be cleared until provisioning ends.`, {
          code: 'workflow.provisioning',
        });
      }
      const published = (await store.getPublication(id)) !== undefined;
      if (state.resources.length > 0 || published) {
        const what =
          state.resources.length > 0
            ? `${state.resources.length} created resource${state.resources.length > 1 ? 's' : ''}`
            : 'a published flow';
        throw conflict(
          `Workflow ${id} still has ${what}; clearing its status would leave them running with nothing to remove them. Deprovision it first (POST /_plugins/_flow_framework/workflow/${id}/_deprovision, or flowd deprovision ${id}), then delete it with clear_status=true.`,
          { code: 'workflow.has_resources' },
        );
      }
    }
    const templateDeleted = await store.deleteWorkflow(id, clearStatus);
    return { templateDeleted, version: rec?.version };
  }
}

/** A template stays its tenant's: an update's body can not move it to another (multi-tenancy). */
function keepTenant(next: Template, existing: Template): void {
  if (existing.tenant_id !== undefined) next.tenant_id = existing.tenant_id;
}

export interface DeleteOutcome {
  /** False when only the state was left (and cleared). */
  templateDeleted: boolean;
  /** The template's version before the delete. */
  version: number | undefined;
}

/**
 * `existing` with the allow-listed fields of an update_fields `patch` merged in (Flow
 * Framework's Template.updateExistingTemplate): what update_fields saves, and what
 * reprovision is handed when both parameters are set.
 */
export function withUpdatedFields(existing: Template, patch: Partial<Template>): Template {
  const t: Template = { ...existing };
  if (patch.name !== undefined && patch.name !== '') t.name = patch.name;
  if (patch.description !== undefined && patch.description.trim() !== '') t.description = patch.description;
  if (patch.use_case !== undefined && patch.use_case.trim() !== '') t.use_case = patch.use_case;
  if (patch.version !== undefined) {
    const v = { ...(t.version ?? {}) };
    if (patch.version.template !== undefined) v.template = patch.version.template;
    if (patch.version.compatibility !== undefined && patch.version.compatibility.length > 0) v.compatibility = patch.version.compatibility;
    t.version = v;
  }
  if (patch.ui_metadata !== undefined) t.ui_metadata = patch.ui_metadata;
  t.last_updated_time = Date.now();
  return t;
}
