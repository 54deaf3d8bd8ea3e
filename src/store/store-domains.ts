/**
 * What each dialect's per-domain classes (sqlite-<domain>.ts, postgres-<domain>.ts) provide,
 * derived from the Store port so a signature is written once. SQLite's domains may answer
 * synchronously (better-sqlite3 is synchronous); the shared facade (store-facade.ts) turns
 * every answer into the port's promise.
 */
import type { Store } from './store.js';

/** `F` with its promised result also allowed synchronously. */
type MaybeSync<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => R | Promise<R> : never;

export type NodesDomain = Pick<Store, 'heartbeatNode' | 'listNodes' | 'removeNode' | 'countStuckWork'>;

export type WorkflowsDomain = Pick<
  Store,
  | 'createWorkflow'
  | 'getWorkflow'
  | 'replaceWorkflow'
  | 'saveTemplate'
  | 'deleteWorkflow'
  | 'countWorkflows'
  | 'listWorkflows'
  | 'listWorkflowsPage'
>;

export type ProvisioningDomain = Pick<
  Store,
  | 'getState'
  | 'listStates'
  | 'countStates'
  | 'beginRun'
  | 'getRun'
  | 'recordStepStarted'
  | 'recordStepCompleted'
  | 'recordStepFailed'
  | 'finishRun'
  | 'removeResource'
  | 'resetState'
  | 'markDeprovisionPartial'
  | 'claimOrphanedRuns'
  | 'renewLeases'
  | 'tryLockWorkflow'
  | 'unlockWorkflow'
>;

export type MlResourcesDomain = Pick<
  Store,
  'createMlResource' | 'getMlResource' | 'updateMlResource' | 'deleteMlResource' | 'listMlResources'
>;

export type UsersDomain = Pick<Store, 'getUser' | 'putUser' | 'deleteUser' | 'listUsers'>;

export interface PublicationsDomain {
  put: MaybeSync<Store['putPublication']>;
  get: MaybeSync<Store['getPublication']>;
  delete: MaybeSync<Store['deletePublication']>;
  list: MaybeSync<Store['listPublications']>;
}

export interface TasksDomain {
  create: Store['createTask'];
  claim: MaybeSync<Store['claimTasks']>;
  requeue: MaybeSync<Store['requeueTasks']>;
  complete: MaybeSync<Store['completeTasks']>;
  renewLeases: MaybeSync<Store['renewTaskLeases']>;
  requeueOrphans: MaybeSync<Store['requeueOrphanedTasks']>;
  get: MaybeSync<Store['getTask']>;
  getMany: MaybeSync<Store['getTasks']>;
  list: MaybeSync<Store['listTasks']>;
  cancel: MaybeSync<Store['cancelTask']>;
  delete: MaybeSync<Store['deleteTask']>;
  deleteMany: MaybeSync<Store['deleteTasks']>;
  count: MaybeSync<Store['countTasks']>;
  countQueued: MaybeSync<Store['countQueuedTasks']>;
  deleteExpired: MaybeSync<Store['deleteExpiredTasks']>;
  /** Writes still grouped in this turn (task creates are batched per turn). */
  flush(): void | Promise<void>;
}

export interface ApiKeysDomain {
  create: MaybeSync<Store['createApiKey']>;
  list: MaybeSync<Store['listApiKeys']>;
  getByHash: MaybeSync<Store['getApiKeyByHash']>;
  get: MaybeSync<Store['getApiKey']>;
  rotate: MaybeSync<Store['rotateApiKey']>;
  delete: MaybeSync<Store['deleteApiKey']>;
  touch: MaybeSync<Store['touchApiKeys']>;
}

export type SearchDomain = Pick<Store, 'searchWorkflowCandidates' | 'searchStateCandidates'>;

export interface StoreDomains {
  nodes: NodesDomain;
  workflows: WorkflowsDomain;
  state: ProvisioningDomain;
  ml: MlResourcesDomain;
  users: UsersDomain;
  publications: PublicationsDomain;
  tasks: TasksDomain;
  apiKeys: ApiKeysDomain;
  search: SearchDomain;
}
