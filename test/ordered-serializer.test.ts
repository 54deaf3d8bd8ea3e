/**
 * Responses are serialized from the route schemas in the order the schemas declare their
 * properties, required or not, so an answer keeps the bytes its handler built.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { orderedSerializerCompiler } from '../src/server/contract/ordered-serializer.js';
import { RuntimeErrors, TaskInfo, TaskStatusList } from '../src/server/contract/runtime-contract.js';

const compile = (schema: unknown): ((v: unknown) => string) =>
  orderedSerializerCompiler({ schema, method: 'GET', url: '/', httpStatus: '200' }) as (v: unknown) => string;

void describe('ordered serializer', () => {
  void it('writes an optional property declared before a required one where it was declared', () => {
    const task = {
      taskId: 't1',
      status: 'COMPLETED',
      attempt: 1,
      createdAt: 'a',
      startedAt: 'b',
      finishedAt: 'c',
      durationMs: 5,
      expiresAt: 'd',
      correlationId: 'x',
    };
    assert.equal(compile(TaskInfo)(task), JSON.stringify(task));
    const err = { errors: [{ message: 'm', node: '$input', code: 'flow.invalid_input', retryable: false }] };
    assert.equal(compile(RuntimeErrors)(err), JSON.stringify(err));
  });

  void it('drops undeclared properties and picks union branches by their enums', () => {
    assert.equal(
      compile(TaskInfo)({ taskId: 't', status: 'QUEUED', attempt: 0, createdAt: 'a', expiresAt: 'd', secret: 1 }),
      '{"taskId":"t","status":"QUEUED","attempt":0,"createdAt":"a","expiresAt":"d"}',
    );
    const list = {
      tasks: [
        { taskId: 'a', status: 'RUNNING', attempt: 1, createdAt: 'c', expiresAt: 'e' },
        { taskId: 'b', status: 'NOT_FOUND' },
      ],
    };
    assert.equal(compile(TaskStatusList)(list), JSON.stringify(list));
  });

  void it('keeps a property named "required"', () => {
    const schema = {
      type: 'object',
      properties: { required: { type: 'array', items: { type: 'string' } }, b: { type: 'number' } },
      required: ['b'],
    };
    assert.equal(compile(schema)({ required: ['x'], b: 1 }), '{"required":["x"],"b":1}');
  });
});
