// `warden cert …`: certificate status, trusting the local CA, and client certificates for
// mutual TLS. Works on the data dir and store, so it works whether or not the server runs;
// a running server enforces a revocation within 1 s (it watches the store's change counter).
import type { Command } from 'commander';
import { clientCertToJson } from '../../admin/serialize.ts';
import { cliContext, openStoreSession, type GlobalOptions } from '../context.ts';
import { parsePositiveInt } from '../duration.ts';
import { printFields, printJson, printTable, say } from '../output.ts';
import { formatCertStatus } from '../../tls/status.ts';
import type { CertStatus } from '../../tls/manager.ts';
import { collectStatus } from './status.ts';
import { registerTrustCommand } from './trust.ts';
import { registerHostnamesCommand } from './hostnames.ts';

export function registerCertCommand(program: Command, globals: () => GlobalOptions): void {
  const cert = program.command('cert').description('certificates: status, trust, client certificates');

  cert
    .command('status')
    .description('every certificate in use, mTLS mode, CRL and ACME state')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const s = await collectStatus(cliContext(globals()));
      if (f.json) return printJson({ source: s.source, ...s.tls });
      process.stdout.write(`source:        ${s.source === 'server' ? 'running server' : `files (${s.serverNote ?? 'server not running'})`}\n`);
      if (!s.tls.enabled || !s.tls.certificate) return void process.stdout.write('TLS is off or no certificate is in use yet\n');
      say(formatCertStatus(s.tls as unknown as CertStatus));
    });

  registerTrustCommand(cert, globals);
  registerHostnamesCommand(cert, globals);

  const client = cert.command('client').description('client certificates for mutual TLS');

  client
    .command('issue <name>')
    .description('issue a client certificate (PEM + PKCS#12 bundle, its password shown once)')
    .requiredOption('--out <dir>', 'where to write NAME.pem, NAME-key.pem and NAME.p12 (Warden keeps only the certificate record)')
    .option('--days <n>', 'validity in days', '365')
    .option('--json', 'machine-readable output')
    .action(async (name: string, f: { out: string; days: string; json?: boolean }) => {
      const ctx = cliContext(globals());
      const s = await openStoreSession(ctx);
      try {
        const issued = await s.certs.issue({ name, days: parsePositiveInt(f.days, '--days'), outDir: f.out }, 'cli');
        if (f.json) {
          return printJson({ ...clientCertToJson(issued.record), certPath: issued.certPath, keyPath: issued.keyPath, p12Path: issued.p12Path, p12Password: issued.p12Password });
        }
        printFields([
          ['name', issued.record.name],
          ['serial', issued.record.serial],
          ['SHA-256', issued.record.fingerprint],
          ['expires', issued.record.notAfter.toISOString()],
          ['certificate', issued.certPath!],
          ['private key', issued.keyPath!],
          ['PKCS#12', issued.p12Path!],
        ]);
        process.stdout.write(`\nPKCS#12 password (shown once): ${issued.p12Password}\n`);
        say(`curl: --cert ${JSON.stringify(issued.certPath)} --key ${JSON.stringify(issued.keyPath)}`);
      } finally {
        await s.close();
      }
    });

  client
    .command('list')
    .description('list client certificates')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const s = await openStoreSession(cliContext(globals()));
      try {
        const list = await s.certs.list();
        if (f.json) return printJson(list.map((c) => ({ ...clientCertToJson(c), state: c.state })));
        if (list.length === 0) return void process.stdout.write('no client certificates\n');
        printTable([['NAME', 'SERIAL', 'STATE', 'EXPIRES', 'SHA-256'], ...list.map((c) => [c.name, c.serial, c.state, c.notAfter.toISOString(), c.fingerprint])]);
      } finally {
        await s.close();
      }
    });

  client
    .command('revoke <nameOrSerial>')
    .description('revoke a client certificate (running servers refuse it within 1 s)')
    .action(async (nameOrSerial: string) => {
      const ctx = cliContext(globals());
      const s = await openStoreSession(ctx);
      try {
        const rec = await s.certs.revoke(nameOrSerial, 'cli');
        say(`revoked ${rec.name} (serial ${rec.serial})`);
      } finally {
        await s.close();
      }
    });
}
