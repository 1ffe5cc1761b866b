// GraphiQL for both APIs: entering a key loads the schema at once (with the
// key), queries run under it, and the key is remembered in this browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base, freshPage, key } from './browser.mjs';

/** The next introspection request to `endpoint`, and its answer. */
function introspection(page, endpoint) {
  return page.waitForResponse((r) => {
    const body = r.request().postData() || '';
    return new URL(r.url()).pathname === endpoint && body.includes('__schema');
  });
}

for (const endpoint of ['/graphql', '/metadata']) {
  test(`GraphiQL at ${endpoint} loads the schema as soon as a key is entered`, async () => {
    const page = await freshPage();
    await page.goto(base + endpoint);
    await page.waitForSelector('.graphiql-container');

    const loaded = introspection(page, endpoint);
    await page.fill('#key', key);
    await page.press('#key', 'Enter');
    await page.locator('#key').blur();
    const answer = await loaded;
    assert.equal(answer.request().headers().authorization, `Bearer ${key}`);
    assert.equal(answer.status(), 200);
    const schema = (await answer.json()).data.__schema;
    const wanted = endpoint === '/graphql' ? 'Query' : 'MetaQuery';
    assert.equal(schema.queryType.name, wanted);

    // The documentation explorer shows the loaded schema's root type.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector(`.graphiql-doc-explorer >> text=${wanted}`);

    // A key entered once is there after a reload, and the schema loads with it.
    const again = introspection(page, endpoint);
    await page.reload();
    assert.equal((await again).request().headers().authorization, `Bearer ${key}`);
    assert.equal(await page.inputValue('#key'), key);
    await page.context().close();
  });
}

test('a query typed into GraphiQL runs under the key entered', async () => {
  const page = await freshPage();
  await page.goto(`${base}/graphql`);
  await page.waitForSelector('.graphiql-container');
  const loaded = introspection(page, '/graphql');
  await page.fill('#key', key);
  await page.locator('#key').blur();
  await loaded;

  await page.evaluate(() => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
      .setValue('{ companies(first: 2) { totalCount nodes { name } } }');
  });
  const ran = page.waitForResponse((r) => (r.request().postData() || '').includes('companies(first: 2)'));
  await page.click('.graphiql-execute-button');
  const answer = await (await ran).json();
  assert.ok(answer.data.companies.totalCount > 0, JSON.stringify(answer));
  // What GraphiQL shows is that answer.
  await page.waitForFunction(() => {
    const shown = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue();
    return shown && shown.includes('totalCount');
  });
  const shown = await page.evaluate(() =>
    JSON.parse(document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()));
  assert.deepEqual(shown, answer);
  await page.context().close();
});

test('without a key GraphiQL shows the refusal, not a blank page', async () => {
  const page = await freshPage();
  const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/graphql'
    && (r.request().postData() || '').includes('__schema'));
  await page.goto(`${base}/graphql`);
  const answer = await refused;
  assert.equal(answer.status(), 401);
  assert.equal(answer.request().headers().authorization, undefined);
  // The refusal is shown where answers are, with its code.
  await page.waitForFunction(() => document.querySelector('.graphiql-response .CodeMirror')
    ?.CodeMirror.getValue().includes('UNAUTHENTICATED'));
  await page.context().close();
});
