// The Windows service definition (WinSW XML), the command-line quoting it depends on, and the
// data-directory ACL. The XML is read back by a real XML parser; the quoting is checked by
// parsing it back with the documented CommandLineToArgvW rules.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { windowsQuote, windowsServiceXml, windowsAclArgs, windowsInstallCommands, windowsServiceFiles, windowsProgramDataDir } from '../../src/service/windows.ts';
import type { ServiceSpec } from '../../src/service/spec.ts';

const dataDir = 'C:\\ProgramData\\wärden & co\\"quoted"\\';

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    platform: 'win32',
    scope: 'system',
    name: 'warden',
    execPath: 'C:\\Program Files\\Warden\\runtime\\node.exe',
    scriptPath: 'C:\\Program Files\\Warden\\app\\dist\\src\\cli\\main.js',
    dataDir: 'C:\\ProgramData\\wärden & co',
    user: 'warden',
    ports: [11443],
    ...over,
  };
}

/** CommandLineToArgvW as Microsoft documents it ("Parsing C++ command-line arguments"). */
function parseWindowsArgs(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inQuotes = false;
  let have = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\') {
      let n = 0;
      while (line[i] === '\\') {
        n++;
        i++;
      }
      if (line[i] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) cur += '"';
        else inQuotes = !inQuotes;
      } else {
        cur += '\\'.repeat(n);
        i--;
      }
      have = true;
    } else if (ch === '"') {
      inQuotes = !inQuotes;
      have = true;
    } else if (/\s/.test(ch) && !inQuotes) {
      if (have) args.push(cur);
      cur = '';
      have = false;
    } else {
      cur += ch;
      have = true;
    }
  }
  if (have) args.push(cur);
  return args;
}

function parseXml(xml: string): Record<string, string> {
  const py = [
    'import sys, json, xml.etree.ElementTree as ET',
    'r = ET.fromstring(sys.stdin.buffer.read())',
    'out = {c.tag: (c.text or "") for c in r}',
    'out["env"] = {e.get("name"): e.get("value") for e in r.findall("env")}',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py], { input: xml, encoding: 'utf8' });
  if (r.error) throw new Error('python3 is needed to parse the XML: apt-get install -y python3');
  assert.equal(r.status, 0, `XML did not parse:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

void describe('Windows command-line quoting', () => {
  const words = ['plain', 'with space', 'C:\\Program Files\\x\\', dataDir, 'a"b', 'a\\"b', '', 'tab\there', 'ünï cödé', '\\\\server\\share\\'];
  for (const w of words) {
    void test(`round-trips ${JSON.stringify(w)}`, () => {
      const line = ['node.exe', w, 'serve'].map(windowsQuote).join(' ');
      assert.deepEqual(parseWindowsArgs(line), ['node.exe', w, 'serve'], line);
    });
  }
  void test('leaves simple words bare', () => assert.equal(windowsQuote('serve'), 'serve'));
});

void describe('WinSW service XML', () => {
  void test('parses, and the arguments come back exactly', () => {
    const x = parseXml(windowsServiceXml(spec())) as unknown as Record<string, string> & { env: Record<string, string> };
    assert.equal(x.id, 'warden');
    assert.equal(x.executable, spec().execPath);
    // node.exe gets the young-generation cap itself: Warden cannot re-exec with it on Windows
    assert.deepEqual(parseWindowsArgs(x.arguments!), ['--max-semi-space-size=4', spec().scriptPath, 'serve', '--data-dir', spec().dataDir]);
    assert.equal(x.env.WARDEN_DATA_DIR, spec().dataDir);
    assert.equal(x.startmode, 'Automatic');
    // Ctrl+C first: Node sees SIGINT and lets streams finish (there is no SIGTERM on Windows).
    assert.equal(x.stopparentprocessfirst, 'true');
  });

  void test('stops: private keys readable by every local user (ACL: SYSTEM, Administrators, the service account)', () => {
    const args = windowsAclArgs({ name: 'warden' }, 'C:\\ProgramData\\warden');
    assert.equal(args[0], 'C:\\ProgramData\\warden');
    assert.ok(args.includes('/inheritance:r'), 'inherited "Users" entries must be removed');
    const grants = args.filter((_, i) => args[i - 1] === '/grant:r');
    assert.deepEqual(grants, ['*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', 'NT SERVICE\\warden:(OI)(CI)M']);
  });

  void test('stops: the service running as LocalSystem (it is moved to its virtual account before it starts)', () => {
    const cmds = windowsInstallCommands(spec(), windowsServiceFiles(spec(), 'C:\\Program Files\\Warden\\service'));
    const names = cmds.map(([c, a]) => `${c} ${a[0]}`);
    assert.ok(names.indexOf('sc.exe config') < names.indexOf('sc.exe start'), names.join(', '));
    assert.deepEqual(cmds[1], ['sc.exe', ['config', 'warden', 'obj=', 'NT SERVICE\\warden']]);
  });

  void test('%ProgramData% decides the machine-wide data dir', () => {
    assert.equal(windowsProgramDataDir({ ProgramData: 'D:\\Data' }), 'D:\\Data\\warden');
    assert.equal(windowsProgramDataDir({}), 'C:\\ProgramData\\warden');
  });
});
