/**
 * The Flow Framework management API under /_plugins/_flow_framework/workflow (Flow Framework's REST API).
 * Routes parse and check parameters, call the engine, and render; no business logic here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, notFound, validationError, workflowForbidden, workflowNotFound, workflowStateNotFound } from '../../errors.js';
import type { Deprovisioner } from '../../engine/deprovisioner.js';
import type { Provisioner } from '../../engine/provisioner.js';
import type { StateEvents } from '../../engine/state-events.js';
import type { OnFailure } from '../../engine/plan.js';
import type { WorkflowService } from '../../engine/workflow-service.js';
import { withUpdatedFields } from '../../engine/workflow-service.js';
import type { Store, StateRecord } from '../../store/store.js';
import type { StepListing, StepRegistry } from '../../steps/step-registry.js';
import { parseRequestBody } from '../bounded-body.js';
import { isBodyLimitError } from '../../template/body-limits.js';
import { parseTemplate } from '../../template/template-parser.js';
import type { TemplateLimits } from '../../template/template-parser.js';
import { serializeTemplate } from '../../template/template-serializer.js';
import { buildUseCaseTemplate } from '../../template/use-cases.js';
import type { OsUser, Template } from '../../template/types.js';
import { searchStatesIndexed, searchTemplatesIndexed } from '../../search/indexed-search.js';
import { requireAction } from '../auth/request-auth.js';
import { isAdmin, mayAccess, toOsUser } from '../auth/roles.js';
import { renderStatus, stateDocument } from '../views/status-view.js';
import type { Query } from './request-params.js';
import { boolParam, contentType, queryOf, rawBody, rejectUnknownParams, timeoutParam } from './request-params.js';
import { EventStreams } from './event-stream.js';
import { readGetBody } from './get-body.js';
import { typed } from '../contract/route-schema.js';
import { WorkflowContract as C } from '../contract/workflow-contract.js';
import type { FlowFrameworkStepListing, TemplateDocument } from '../contract/workflow-contract.js';
import type { SearchResponse } from '../../search/types.js';
import { errorHandlerFor } from '../error-renderer.js';
import { andFilters, tenantFilter, tenantOption } from '../tenancy.js';

export interface WorkflowRoutesOptions {
  store: Store;
  registry: StepRegistry;
  workflows: WorkflowService;
  provisioner: Provisioner;
  deprovisioner: Deprovisioner;
  filterByBackendRoles: boolean;
  /** The OpenSearch version flowd behaves as: the wire form of `user` follows it (user-serializer.ts). */
  opensearchVersion: string;
  templateLimits: Partial<TemplateLimits>;
  /**
   * State-change notifications for `_status?watch=true`. Without them (a composition root that
   * does not pass them) the stream re-reads the state every STATUS_POLL_MS instead.
   */
  events?: StateEvents;
}

const BASE = '/_plugins/_flow_framework/workflow';
const CREATE_PARAMS = ['validation', 'provision', 'reprovision', 'update_fields', 'use_case', 'wait_for_completion_timeout', 'on_failure'];
/**
 * Flow Framework names the parameters its REST handler consumed (workflow_id included, on POST
 * too) in the order OpenSearch's RestRequest keeps them, a Java HashSet's; on_failure is flowd's.
 */
const ONLY_PARAMS_MESSAGE =
  'Only the parameters [use_case, workflow_id, provision, reprovision, update_fields, wait_for_completion_timeout, validation] are permitted unless the provision parameter is set to true.';
const STATUS_POLL_MS = 250;

function onFailureParam(q: Query): OnFailure {
  const v = q['on_failure'] ?? 'keep';
  if (v !== 'keep' && v !== 'rollback') throw validationError(`Invalid [on_failure] value [${v}]: use keep or rollback.`);
  return v;
}

export async function workflowRoutes(app: FastifyInstance, opts: WorkflowRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  const { store, registry, workflows, provisioner, deprovisioner } = opts;
  const redact = (type: string, key: string): boolean => registry.isSecret(type, key);

  const callerUser = (req: FastifyRequest): OsUser | undefined => (req.flowdUser ? toOsUser(req.flowdUser) : undefined);

  const checkAccess = (req: FastifyRequest, id: string, owner: OsUser | undefined): void => {
    if (!mayAccess(req.flowdUser, owner, opts.filterByBackendRoles)) {
      throw workflowForbidden(id);
    }
  };

  const checkCreator = (req: FastifyRequest): void => {
    if (!opts.filterByBackendRoles) return;
    const u = req.flowdUser;
    if (!u) throw validationError('Filter by backend roles is enabled and User is null');
    if (u.backendRoles.length === 0 && !isAdmin(u)) {
      throw forbidden(`Filter by backend roles is enabled, but User ${u.name} does not have any backend roles configured`);
    }
  };

  const loadTemplate = async (req: FastifyRequest, id: string): Promise<Template> => {
    const rec = await store.getWorkflow(id);
    if (!rec) throw workflowNotFound(id);
    checkAccess(req, id, rec.template.user);
    return rec.template;
  };

  const loadState = async (req: FastifyRequest, id: string, steps: boolean): Promise<StateRecord> => {
    const s = await store.getState(id, { steps });
    if (!s) throw notFound(`Fail to find workflow status of ${id}`, { code: 'workflow.status_not_found' });
    checkAccess(req, id, s.user);
    return s;
  };

  /** 202 body after a sync wait (wait_for_completion_timeout), as Flow Framework returns it. */
  const syncReply = async (reply: FastifyReply, id: string, waitMs: number): Promise<FastifyReply> => {
    await provisioner.waitForCompletion(id, waitMs);
    const s = await store.getState(id, { steps: false });
    if (!s) return reply.code(202).send({ workflow_id: id, error: 'Workflow timed out, failed to fetch current state', state: 'UNKNOWN' });
    if (s.state === 'FAILED' && s.error) {
      return reply.code(s.errorDetail?.status ?? 500).send({ error: s.error });
    }
    return reply.code(202).send(renderStatus(s, false, false, opts.opensearchVersion));
  };

  const parseTemplateBody = (req: FastifyRequest, updateFields: boolean): Template =>
    parseTemplate(parseRequestBody(req), { updateFields, limits: opts.templateLimits });

  /** POST (create) and PUT (update / reprovision) share Flow Framework's parameter rules. */
  const createOrUpdate = async (req: FastifyRequest, reply: FastifyReply, id: string | undefined): Promise<FastifyReply> => {
    requireAction(req, 'workflow:write');
    const q = queryOf(req);
    const provision = boolParam(q, 'provision');
    const reprovision = boolParam(q, 'reprovision');
    const updateFields = boolParam(q, 'update_fields');
    const useCase = q['use_case'];
    const extra = Object.fromEntries(Object.entries(q).filter(([k]) => !CREATE_PARAMS.includes(k)));
    if (Object.keys(extra).length > 0 && !provision) throw validationError(ONLY_PARAMS_MESSAGE);
    if (provision && updateFields)
      throw validationError('You can not use both the provision and update_fields parameters in the same request.');
    if (reprovision && id === undefined) throw validationError('You can not use the reprovision parameter to create a new template.');
    if (reprovision && useCase !== undefined)
      throw validationError('You cannot use the reprovision and use_case parameters in the same request.');
    const waitMs = timeoutParam(q, 'wait_for_completion_timeout');
    if (waitMs !== undefined && !provision && !reprovision) {
      throw validationError(
        "Request parameter 'wait_for_completion_timeout' is not allowed unless the 'provision' or 'reprovision' parameter is set to true.",
      );
    }
    const onFailure = onFailureParam(q);
    const validate = (q['validation'] ?? 'all') === 'all';
    let template: Template;
    if (useCase !== undefined) {
      const raw = rawBody(req);
      const body = raw.trim() === '' ? {} : parseRequestBody(req, raw);
      template = parseTemplate(buildUseCaseTemplate(useCase, body), { limits: opts.templateLimits });
    } else template = parseTemplateBody(req, updateFields);

    if (id === undefined) {
      checkCreator(req);
      const newId = await workflows.create(template, {
        validate,
        provision,
        params: extra,
        onFailure,
        user: callerUser(req),
        ...tenantOption(req),
      });
      opts.events?.notify(newId); // the dashboard's list streams show it
      if (provision && waitMs !== undefined && waitMs >= 0) return syncReply(reply, newId, waitMs);
      return reply.code(provision ? 202 : 201).send({ workflow_id: newId });
    }
    const existing = await loadTemplate(req, id);
    if (reprovision) {
      // With update_fields too, Flow Framework merges the fields into the stored template and
      // reprovisions that: 400 unless DONE or FAILED, else "no modifications" (workflows can't change).
      const next = updateFields ? withUpdatedFields(existing, template) : template;
      await workflows.reprovision(id, next, callerUser(req) ?? existing.user, extra);
      if (waitMs !== undefined && waitMs >= 0) return syncReply(reply, id, waitMs);
      return reply.code(202).send({ workflow_id: id });
    }
    if (updateFields) {
      await workflows.updateFields(id, template);
      opts.events?.notify(id);
      return reply.code(201).send({ workflow_id: id });
    }
    await workflows.replace(id, template, validate, callerUser(req));
    opts.events?.notify(id);
    if (provision) {
      await provisioner.provision(id, { params: extra, onFailure });
      if (waitMs !== undefined && waitMs >= 0) return syncReply(reply, id, waitMs);
      return reply.code(202).send({ workflow_id: id });
    }
    return reply.code(201).send({ workflow_id: id });
  };

  const r = typed(app);
  r.post(BASE, { schema: C.create }, async (req, reply) => createOrUpdate(req, reply, undefined));
  r.put(`${BASE}/:workflow_id`, { schema: C.update }, async (req, reply) => createOrUpdate(req, reply, req.params.workflow_id));

  r.get(`${BASE}/:workflow_id`, { schema: C.get }, async (req) => {
    requireAction(req, 'workflow:read');
    rejectUnknownParams(req, queryOf(req), []);
    const t = await loadTemplate(req, req.params.workflow_id);
    return serializeTemplate(t, {
      includeUser: isAdmin(req.flowdUser),
      redact,
      opensearchVersion: opts.opensearchVersion,
    }) as TemplateDocument;
  });

  r.delete(`${BASE}/:workflow_id`, { schema: C.delete }, async (req) => {
    requireAction(req, 'workflow:write');
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['clear_status']);
    const id = req.params.workflow_id;
    // Access (template owner; with clear_status the state's owner too) is decided before anything is deleted.
    // A missing id is OpenSearch's 200 `not_found`, as Flow Framework passes it through; under
    // filter_by_backend_roles FF first looks the workflow up for the caller, and that is a 404.
    const missingIsError = opts.filterByBackendRoles && req.flowdUser !== undefined;
    const res = await workflows.delete(id, boolParam(q, 'clear_status'), (owner) => checkAccess(req, id, owner), missingIsError);
    opts.events?.notify(id); // status watchers learn that it is gone
    return {
      _index: '.plugins-flow-framework-templates',
      _id: id,
      _version: (res.version ?? 0) + 1,
      // Only the status was left: it was cleared, the template document was already gone.
      result: res.templateDeleted ? ('deleted' as const) : ('not_found' as const),
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: res.version ?? 0,
      _primary_term: 1,
    };
  });

  r.post(`${BASE}/:workflow_id/_provision`, { schema: C.provision }, async (req, reply) => {
    requireAction(req, 'workflow:write');
    const id = req.params.workflow_id;
    const q = queryOf(req);
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) if (k !== 'wait_for_completion_timeout' && k !== 'on_failure') params[k] = v;
    const raw = rawBody(req);
    if (raw.trim() !== '') {
      let body: unknown;
      try {
        body = parseRequestBody(req, raw);
      } catch (e) {
        if (isBodyLimitError(e)) throw e;
        throw validationError('Request body parsing failed');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationError('Request body parsing failed');
      for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
        if (typeof v !== 'string') throw validationError('Request body fields must have string values');
        if (k in q) throw validationError(`Duplicate key ${k}`);
        params[k] = v;
      }
    }
    await loadTemplate(req, id);
    await provisioner.provision(id, { params, onFailure: onFailureParam(q) });
    const waitMs = timeoutParam(q, 'wait_for_completion_timeout');
    if (waitMs !== undefined && waitMs >= 0) return syncReply(reply, id, waitMs);
    return reply.code(202).send({ workflow_id: id });
  });

  r.post(`${BASE}/:workflow_id/_deprovision`, { schema: C.deprovision }, async (req, reply) => {
    requireAction(req, 'workflow:write');
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['allow_delete']);
    const id = req.params.workflow_id;
    const state = await store.getState(id, { steps: false });
    if (!state) throw workflowStateNotFound(id);
    checkAccess(req, id, state.user);
    const allow = new Set(
      (q['allow_delete'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );
    const res = await deprovisioner.deprovision(id, allow);
    if (res.status === 200) return reply.code(200).send({ workflow_id: id });
    return reply.code(res.status).send({ error: res.error ?? '' });
  });

  const streams = new EventStreams(app);

  /**
   * `_status?watch=true`: Server-Sent Events, `event: status` with the `_status?all=true` body,
   * first the current one, then one per change (re-read on each StateEvents notification);
   * `event: deleted` and the end when the state is gone.
   */
  const streamStatus = (req: FastifyRequest, reply: FastifyReply, id: string, includeUser: boolean): FastifyReply => {
    const stream = streams.open(req, reply, async () => {
      const s = await store.getState(id, { steps: true });
      if (!s) return { event: 'deleted', data: JSON.stringify({ workflow_id: id }), last: true };
      return { event: 'status', data: JSON.stringify(renderStatus(s, true, includeUser, opts.opensearchVersion)) };
    });
    if (opts.events) stream.onEnd(opts.events.subscribe(id, stream.trigger));
    else {
      const poll = setInterval(stream.trigger, STATUS_POLL_MS);
      stream.onEnd(() => clearInterval(poll));
    }
    stream.trigger();
    return reply;
  };

  r.get(`${BASE}/:workflow_id/_status`, { schema: C.status }, async (req, reply) => {
    requireAction(req, 'workflow:read');
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['all', 'watch']);
    const id = req.params.workflow_id;
    const watch = boolParam(q, 'watch');
    const all = watch || boolParam(q, 'all');
    const includeUser = all && isAdmin(req.flowdUser);
    const s = await loadState(req, id, all);
    if (watch) return streamStatus(req, reply, id, includeUser);
    return renderStatus(s, all, includeUser, opts.opensearchVersion);
  });

  /** The registry's listing of the `workflow_step` types (all when absent); 400 for an unknown one. */
  const stepListing = (req: FastifyRequest): Record<string, StepListing> => {
    requireAction(req, 'workflow:read');
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['workflow_step']);
    const names = q['workflow_step']
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const listing = registry.listing(names && names.length > 0 ? names : undefined);
    if (!listing) throw validationError('Failed to retrieve workflow step json.', { code: 'steps.unknown' });
    return listing;
  };

  // Flow Framework's WorkflowStepValidator fields only; flowd's own are on /_flowd/steps.
  r.get(`${BASE}/_steps`, { schema: C.steps }, async (req) => {
    const out: Record<string, FlowFrameworkStepListing> = {};
    for (const [name, s] of Object.entries(stepListing(req))) {
      out[name] = { inputs: s.inputs, outputs: s.outputs, required_plugins: s.required_plugins };
      if (s.timeout !== undefined) out[name].timeout = s.timeout;
    }
    return out;
  });
  r.get('/_flowd/steps', { schema: C.flowdSteps }, async (req) => stepListing(req));

  const searchBody = (req: FastifyRequest): unknown => {
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['source', 'source_content_type', 'size', 'from']);
    const raw = q['source'] ?? rawBody(req);
    const body = raw.trim() === '' ? {} : parseRequestBody(req, raw, q['source_content_type'] ?? contentType(req));
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const b: Record<string, unknown> = { ...(body as Record<string, unknown>), seq_no_primary_term: true, version: true };
      if (q['size'] !== undefined) b['size'] = Number(q['size']);
      if (q['from'] !== undefined) b['from'] = Number(q['from']);
      return b;
    }
    return body;
  };

  const roleFilter = (req: FastifyRequest): unknown => {
    const u = req.flowdUser;
    if (!opts.filterByBackendRoles || !u || isAdmin(u)) return undefined;
    return { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': u.backendRoles } } } };
  };

  const searchTemplates = async (req: FastifyRequest): Promise<SearchResponse> => {
    requireAction(req, 'workflow:read');
    const started = performance.now(); // `took` is measured from here to after the query ran
    const body = searchBody(req);
    const excludes = isAdmin(req.flowdUser) ? [] : ['user'];
    // Through the store's indexes where the query allows (search/indexed-search.ts): the answer a scan gives.
    return searchTemplatesIndexed(store, body, {
      index: '.plugins-flow-framework-templates',
      excludes,
      filter: andFilters(roleFilter(req), tenantFilter(req)),
      startedAt: started,
      toDoc: (w) => ({
        _id: w.id,
        _source: serializeTemplate(w.template, { includeUser: true, redact, opensearchVersion: opts.opensearchVersion }),
        _version: w.version,
        _seq_no: w.version - 1,
        _primary_term: 1,
      }),
    });
  };

  const searchStates = async (req: FastifyRequest): Promise<SearchResponse> => {
    requireAction(req, 'workflow:read');
    const started = performance.now(); // `took` is measured from here to after the query ran
    const body = searchBody(req);
    const excludes = isAdmin(req.flowdUser) ? [] : ['user'];
    return searchStatesIndexed(store, body, {
      index: '.plugins-flow-framework-state',
      excludes,
      filter: andFilters(roleFilter(req), tenantFilter(req)),
      startedAt: started,
      toDoc: (s) => ({
        _id: s.workflowId,
        _source: stateDocument(s, opts.opensearchVersion),
        _version: s.version,
        _seq_no: s.version - 1,
        _primary_term: 1,
      }),
    });
  };

  // GET takes the search body too, as OpenSearch does (get-body.ts).
  r.get(`${BASE}/_search`, { schema: C.searchTemplatesGet, preValidation: readGetBody }, searchTemplates);
  r.post(`${BASE}/_search`, { schema: C.searchTemplates }, searchTemplates);
  r.get(`${BASE}/state/_search`, { schema: C.searchStatesGet, preValidation: readGetBody }, searchStates);
  r.post(`${BASE}/state/_search`, { schema: C.searchStates }, searchStates);
}
