/**
 * ML Commons' model-group rules for its REST API, with its messages: unique names, the access
 * fields (`access_mode`, `backend_roles`, `add_all_backend_roles`) checked against the caller
 * when security is on and refused when it is off, and how an update changes the document.
 * The caller is undefined when flowd runs without security (ML Commons' "security disabled").
 */
import { conflict, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { optionalString, optionalStringList } from './json-util.js';

export interface ModelGroupCaller {
  backendRoles: readonly string[];
  admin: boolean;
}

type Access = 'public' | 'private' | 'restricted';

interface AccessInput {
  mode: Access | undefined;
  backendRoles: string[] | undefined;
  addAll: boolean | undefined;
}

const bad = (message: string): Error => validationError(message, { code: 'ml.invalid_model_group' });

const BACKEND_ROLES_ONLY_RESTRICTED = 'You can specify backend roles only for a model group with the restricted access mode.';
const BOTH_ROLES_AND_ALL = 'You cannot specify backend roles and add all backend roles at the same time.';
const ADMIN_ADD_ALL = 'Admin users cannot add all backend roles to a model group.';
const NEED_ROLES = 'You must specify one or more backend roles or add all backend roles to register a restricted model group.';
const NOT_YOUR_ROLES = "You don't have the backend roles specified.";

function accessMode(v: JsonValue | undefined): Access | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (s === 'public' || s === 'private' || s === 'restricted') return s;
  throw bad('Wrong access value');
}

function addAllOf(v: JsonValue | undefined): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw bad('model group [add_all_backend_roles] must be a boolean');
}

function accessInput(body: JsonObject): AccessInput {
  return {
    mode: accessMode(body['access_mode']),
    backendRoles: optionalStringList(body['backend_roles'], 'model group [backend_roles]'),
    addAll: addAllOf(body['add_all_backend_roles']),
  };
}

const nonEmpty = (roles: readonly string[] | undefined): roles is string[] => roles !== undefined && roles.length > 0;

/** Security off: ML Commons takes none of the access fields. */
function refuseAccessFields(a: AccessInput): void {
  if (a.mode !== undefined || a.addAll !== undefined || nonEmpty(a.backendRoles)) {
    throw bad(
      'You cannot specify model access control parameters because the Security plugin or model access control is disabled on your cluster.',
    );
  }
}

/** The model name as given (ML Commons compares names exactly). */
export const modelGroupName = (body: JsonObject): string | undefined => optionalString(body, 'name', 'model group');

/** `POST model_groups/_register`: a missing name, as ML Commons words it. */
export function requireModelGroupName(body: JsonObject): string {
  const name = modelGroupName(body);
  if (name === undefined) throw bad('model group name must not be null');
  return name;
}

export const duplicateGroupName = (id: string): Error =>
  validationError(`The name you provided is already being used by a model group with ID: ${id}.`, { code: 'ml.duplicate_model_group' });

export const duplicateGroupNameOnUpdate = (id: string): Error =>
  validationError(`The name you provided is already being used by another model with ID: ${id}. Please provide a different name`, {
    code: 'ml.duplicate_model_group',
  });

/**
 * The register body with ML Commons' access decision applied (`access_mode` and
 * `backend_roles` as they will be stored), or its refusal.
 */
export function registerBody(body: JsonObject, caller: ModelGroupCaller | undefined): JsonObject {
  const a = accessInput(body);
  const out: JsonObject = { ...body };
  delete out['add_all_backend_roles'];
  if (caller === undefined) {
    refuseAccessFields(a);
    delete out['backend_roles'];
    return { ...out, access_mode: 'public' };
  }
  let mode = a.mode;
  if (mode === undefined) {
    if (nonEmpty(a.backendRoles) && a.addAll === true) throw bad(BOTH_ROLES_AND_ALL);
    mode = a.addAll === true || nonEmpty(a.backendRoles) ? 'restricted' : 'private';
  }
  if (mode !== 'restricted' && (nonEmpty(a.backendRoles) || a.addAll === true)) throw bad(BACKEND_ROLES_ONLY_RESTRICTED);
  if (mode === 'restricted') {
    if (caller.admin && a.addAll === true) throw bad(ADMIN_ADD_ALL);
    if (!caller.admin && caller.backendRoles.length === 0)
      throw bad('You must have at least one backend role to register a restricted model group.');
    if (!nonEmpty(a.backendRoles) && a.addAll !== true) throw bad(NEED_ROLES);
    if (nonEmpty(a.backendRoles) && a.addAll === true) throw bad(BOTH_ROLES_AND_ALL);
    if (!caller.admin && a.addAll !== true && !(a.backendRoles ?? []).every((r) => caller.backendRoles.includes(r)))
      throw bad(NOT_YOUR_ROLES);
  }
  out['access_mode'] = mode;
  if (a.addAll === true) out['backend_roles'] = [...caller.backendRoles];
  return out;
}

/**
 * ML Commons' model-group update applied to the stored document (`name` is the caller's to
 * check for uniqueness first): access fields checked as ML Commons checks them, a blank
 * description ignored, `last_updated_time` set.
 */
export function updatedModelGroupDoc(
  existing: JsonObject,
  body: JsonObject,
  caller: ModelGroupCaller | undefined,
  now: number,
): JsonObject {
  const a = accessInput(body);
  if (caller === undefined) refuseAccessFields(a);
  else {
    if ((a.mode === 'public' || a.mode === 'private') && (nonEmpty(a.backendRoles) || a.addAll === true)) {
      throw bad(BACKEND_ROLES_ONLY_RESTRICTED);
    }
    if (a.mode === undefined || a.mode === 'restricted') {
      if (caller.admin && a.addAll === true) throw bad(ADMIN_ADD_ALL);
      if (a.addAll === true && caller.backendRoles.length === 0) throw bad("You don't have any backend roles.");
      if (!nonEmpty(a.backendRoles) && a.addAll === false) {
        throw bad('You have to specify backend roles when add all backend roles is set to false.');
      }
      if (nonEmpty(a.backendRoles) && a.addAll === true) throw bad(BOTH_ROLES_AND_ALL);
      if (a.mode === 'restricted' && !nonEmpty(a.backendRoles) && a.addAll !== true) throw bad(NEED_ROLES);
      if (!caller.admin && nonEmpty(a.backendRoles) && !a.backendRoles.every((r) => caller.backendRoles.includes(r))) {
        throw bad(NOT_YOUR_ROLES);
      }
    }
  }
  const doc: JsonObject = { ...existing };
  if (a.mode !== undefined) {
    doc['access'] = a.mode;
    if (a.mode !== 'restricted') doc['backend_roles'] = [];
  } else if (a.backendRoles !== undefined || a.addAll === true) {
    doc['access'] = 'restricted';
  }
  if (a.backendRoles !== undefined) doc['backend_roles'] = a.backendRoles;
  if (a.addAll === true && caller !== undefined) doc['backend_roles'] = [...caller.backendRoles];
  const description = optionalString(body, 'description', 'model group');
  if (description !== undefined && description.trim() !== '') doc['description'] = description;
  const name = modelGroupName(body);
  if (name !== undefined && name.trim() !== '') doc['name'] = name;
  doc['last_updated_time'] = now;
  return doc;
}

/** ML Commons' refusal to delete a group that still has models. */
export const groupHasModels = (): Error =>
  conflict('Cannot delete the model group when it has associated model versions', { code: 'ml.model_group_in_use' });
