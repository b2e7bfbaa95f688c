// The rule behind the docs tests: no shell command in the user docs goes unchecked. Every
// shell block is run (docs-run.test.ts) or mirrored by a named test (docs-mirror.test.ts), and
// every Warden config snippet (a yaml block without a marker) is a valid config.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { docBlocks, docTestSources, parseBlocks, SHELL_LANGS, USER_DOCS } from './blocks.ts';
import { validateConfig } from '../../src/config/load.ts';

void describe('docs: every shell block is run or mirrored', () => {
  const sources = docTestSources();
  for (const doc of USER_DOCS) {
    void test(`docs/${doc}`, () => {
      const blocks = docBlocks(doc);
      blocks.forEach((b, i) => {
        const where = `docs/${doc}:${b.line}`;
        if (SHELL_LANGS.has(b.lang)) {
          assert.ok(b.marker.kind === 'run' || b.marker.kind === 'mirror', `${where}: a ${b.lang} block needs <!-- test: run --> or <!-- test: mirror ID --> before it`);
        }
        if (b.marker.kind === 'expect') assert.equal(blocks[i - 1]?.marker.kind, 'run', `${where}: an expect block must follow a run block`);
        if (b.marker.kind === 'mirror') {
          const id = b.marker.id;
          // mirrored('doc', 'id') directly, or over a list of ids that names this one
          const claimed = sources.includes(`mirrored('${doc}', '${id}')`) || (sources.includes(`mirrored('${doc}', id)`) && sources.includes(`'${id}'`));
          assert.ok(claimed, `${where}: no test in test/docs calls mirrored('${doc}', '${id}')`);
        }
        if (b.lang === '') assert.fail(`${where}: give the block a language (sh, yaml, text, …)`);
      });
    });
  }

  void test('the rule itself: an unmarked sh block is caught', () => {
    const blocks = parseBlocks('x.md', 'Some text\n\n```sh\nrm -rf /\n```\n\n<!-- test: run -->\n```sh\nwarden status\n```\n');
    assert.deepEqual(
      blocks.map((b) => b.marker.kind),
      ['none', 'run'],
    );
  });
});

void describe('docs: every Warden config snippet is valid', () => {
  for (const doc of USER_DOCS) {
    const snippets = docBlocks(doc).filter((b) => b.lang === 'yaml' && b.marker.kind === 'none');
    for (const b of snippets) {
      void test(`docs/${doc}:${b.line}`, () => {
        const parsed = parseYaml(b.code) as Record<string, unknown>;
        assert.doesNotThrow(() => validateConfig(parsed), `docs/${doc}:${b.line} is not a valid warden.yaml fragment`);
      });
    }
  }
});
