// Finding the API (--url, the config file, defaults) and calling it: answers, API errors, no server.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { startApiServer } from '../server/index.ts';
import {
  createApiClient,
  isApiError,
  isApiUnreachableError,
  isCliUsageError,
  resolveApiTarget,
} from './apiClient.ts';

const dir = mkdtempSync(join(tmpdir(), 'rebound-api-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveApiTarget', () => {
  it('takes --url as given, without a trailing slash', async () => {
    const target = await resolveApiTarget({ url: 'http://10.0.0.5:9000/' }, { cwd: dir, env: {} });
    assert.deepEqual(target, { url: 'http://10.0.0.5:9000', token: undefined });
  });

  it('refuses a --url that is not an http URL', async () => {
    for (const url of ['localhost:8080', 'ftp://host/', '']) {
      await assert.rejects(resolveApiTarget({ url }, { cwd: dir, env: {} }), isCliUsageError);
    }
  });

  it('defaults to http://127.0.0.1:8080 without a config file', async () => {
    const cwd = mkdtempSync(join(dir, 'empty-'));
    const target = await resolveApiTarget({}, { cwd, env: {} });
    assert.deepEqual(target, { url: 'http://127.0.0.1:8080', token: undefined });
  });

  it('reads server.host and server.port of ./rebound.yaml when it exists', async () => {
    const cwd = mkdtempSync(join(dir, 'project-'));
    writeFileSync(
      join(cwd, 'rebound.yaml'),
      'server: { host: 127.0.0.2, port: 8181 }\nservices:\n  api:\n    command: x\n    env: { KEY: "${UNSET_SECRET}" }\n',
    );
    const target = await resolveApiTarget({}, { cwd, env: {} });
    assert.equal(target.url, 'http://127.0.0.2:8181');
  });

  it('reads --config FILE, reaching a wildcard address on loopback', async () => {
    const file = join(dir, 'wildcard.yaml');
    writeFileSync(file, 'server: { host: 0.0.0.0, port: 9090, token: x }\n');
    assert.equal(
      (await resolveApiTarget({ config: file }, { cwd: dir, env: {} })).url,
      'http://127.0.0.1:9090',
    );
    writeFileSync(file, "server: { host: '::', port: 9090 }\n");
    assert.equal((await resolveApiTarget({ config: file }, { cwd: dir, env: {} })).url, 'http://[::1]:9090');
    writeFileSync(file, 'services: {}\n');
    assert.equal(
      (await resolveApiTarget({ config: file }, { cwd: dir, env: {} })).url,
      'http://127.0.0.1:8080',
    );
  });

  it('says so when the config file cannot give an address', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server: { port: ${API_PORT} }\n');
    await assert.rejects(resolveApiTarget({ config: file }, { cwd: dir, env: {} }), (error) => {
      assert.ok(isCliUsageError(error));
      assert.match(error.message, /give --url/);
      return true;
    });
    await assert.rejects(
      resolveApiTarget({ config: join(dir, 'missing.yaml') }, { cwd: dir, env: {} }),
      (error) => isCliUsageError(error) && /cannot read .*ENOENT/.test(error.message),
    );
    writeFileSync(file, 'server: { port: [\n');
    await assert.rejects(
      resolveApiTarget({ config: file }, { cwd: dir, env: {} }),
      (error) => isCliUsageError(error) && /not valid YAML/.test(error.message),
    );
  });

  it('takes the token from --token, else REBOUND_TOKEN', async () => {
    const env = { REBOUND_TOKEN: 'from-env' };
    assert.equal(
      (await resolveApiTarget({ url: 'http://h:1', token: 'given' }, { cwd: dir, env })).token,
      'given',
    );
    assert.equal((await resolveApiTarget({ url: 'http://h:1' }, { cwd: dir, env })).token, 'from-env');
    assert.equal(
      (await resolveApiTarget({ url: 'http://h:1' }, { cwd: dir, env: { REBOUND_TOKEN: '' } })).token,
      undefined,
    );
  });
});

describe('createApiClient', () => {
  it('answers the JSON of a successful call, sending the token', async () => {
    const controlPlane = fakeControlPlane();
    const server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token: 'tok' });
    try {
      const client = createApiClient({ url: server.url, token: 'tok' });
      assert.deepEqual(await client.get('/api/health'), { status: 'ok', version: '0.1.0-test' });
      const answer = await client.post<{ attempt: { service: string } }>('/api/services/database/restart');
      assert.equal(answer.attempt.service, 'database');
      await client.post('/api/services/database/scale', { replicas: 1 });
      assert.deepEqual(controlPlane.calls, ['restart database', 'scale 1 database']);
    } finally {
      await server.close();
    }
  });

  it("turns an error answer into an ApiError with the API's code, message and details", async () => {
    const server = await startApiServer({
      controlPlane: fakeControlPlane(),
      host: '127.0.0.1',
      port: 0,
      token: 'tok',
    });
    try {
      const client = createApiClient({ url: server.url, token: undefined });
      await assert.rejects(client.get('/api/services/nope'), (error) => {
        assert.ok(isApiError(error));
        assert.equal(error.status, 404);
        assert.equal(error.code, 'UNKNOWN_SERVICE');
        assert.equal(error.message, 'no service named "nope"');
        return true;
      });
      await assert.rejects(client.post('/api/reload'), (error) => isApiError(error) && error.status === 401);
      const withToken = createApiClient({ url: server.url, token: 'tok' });
      await assert.rejects(withToken.post('/api/services/payment-api/scale', { replicas: 'x' }), (error) => {
        assert.ok(isApiError(error));
        assert.equal(error.code, 'BAD_REQUEST');
        assert.ok(Array.isArray(error.details));
        return true;
      });
    } finally {
      await server.close();
    }
  });

  it('says that rebound cannot be reached when nothing listens', async () => {
    const server = await startApiServer({
      controlPlane: fakeControlPlane(),
      host: '127.0.0.1',
      port: 0,
      token: undefined,
    });
    await server.close();
    const client = createApiClient({ url: server.url, token: undefined });
    await assert.rejects(client.get('/api/services'), (error) => {
      assert.ok(isApiUnreachableError(error));
      assert.equal(error.message, `cannot reach rebound at ${server.url}: is \`rebound up\` running?`);
      return true;
    });
  });
});
